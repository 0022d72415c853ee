"""ossnb's benchmarks: ossnb against the official OSS SDKs, a ceiling, and the emulator alone.

Run on demand with ``python benchmarks/run.py`` (see ``benchmarks/README.md``); never part
of the timed test suite. Every contender runs in its own subprocess.
"""
