"""Generated from protos/rollcall/v1 by scripts/gen-protos; do not edit."""
