"""Code that runs on cluster workers: the standard library and the protocol core only,
never the client or a credential (see :mod:`ossnb.cluster.part_task`)."""
