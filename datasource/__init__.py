"""Infrastructure: Redis (stream, embedded server), the reporting database, the worker,
the simulator and the importers.  Depends on the domain core, never the other way round."""
