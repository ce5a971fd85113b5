"""Generated protobuf packages; see protos/."""
