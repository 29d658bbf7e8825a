"""``python -m bench`` (``make bench``): every benchmark, bench/results.json and one table."""
import sys

from bench.harness import main

sys.exit(main())
