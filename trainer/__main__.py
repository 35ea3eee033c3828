import sys

from trainer.allocator import rerun_under_jemalloc
from trainer.cli import main

if sys.argv[1:2] in (["train"], ["factory"]):
    rerun_under_jemalloc(sys.argv[1:])
sys.exit(main())
