"""AnimGen's service side: the gRPC server, its job store, the Python client and the `animgen` command line."""
