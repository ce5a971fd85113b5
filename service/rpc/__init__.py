"""The gRPC face: proto <-> core, RollcallError <-> google.rpc.Status."""
