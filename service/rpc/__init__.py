"""The gRPC face: proto requests in, core commands out; core results back as
proto messages; RollcallError out as google.rpc.Status.

One name per layer, outermost first:

- servicer.py, conference_servicer.py, callbacks.py (CallbackServicer): the
  grpc.aio servicers. Transport only: metadata in, status codes out.
- interceptors.py, decoding.py, options.py: what wraps every RPC (log line and
  metrics, undecodable bytes, server options).
- participants.py (ParticipantApi), conferences.py (ConferenceApi),
  callbacks.py (CallbackApi): the API objects, the one implementation of each
  service. The servicers and the in-process REST gateway both call them, so
  authentication, rate limits, request bounds and tenancy have one path;
  WatchConference too (watch.py holds its streams, WatchHub).
- requests.py: proto request -> core command, every field checked; limits.py:
  request size bounds; page_tokens.py: sealed page tokens.
- messages.py: core values -> proto messages.
- status.py: RollcallError -> google.rpc.Status (callers decode it with
  clients.status).

The core (service.core) is below all of it; nothing here is imported by the
core, by an adapter or by the REST gateway.
"""
