"""The gRPC face: proto requests in, core commands out, core results back as proto messages.

Rule 1: the servicers (servicer.py, conference_servicer.py, callbacks.py) are
        transport only: metadata in, status codes out; what wraps every RPC is
        front.py's one wrapper per method handler, made at registration (no
        interceptor: the steps are queue_probe.py, door.py, interceptors.py and
        decoding.py); ParticipantService is registered by codec.py, whose one
        encoder sends a Prebuilt answer (service.renders) as its bytes and
        serializes any other.
Rule 2: each service has one implementation, its API object (ParticipantApi,
        ConferenceApi, CallbackApi), called by its servicer and by the in-process
        REST gateway alike, so authentication, rate limits, request bounds and
        tenancy have one path.
Rule 3: requests.py turns a request into a core command, every field checked;
        messages.py turns core values into messages; status.py encodes a
        RollcallError as google.rpc.Status (callers decode it with clients.status).
Rule 4: the core is below all of it: nothing here is imported by the core, by an
        adapter or by the REST gateway.
"""
