"""The core: conferences, participants and their rules. No grpc, no SQL."""
