import sys

from emojitui.cli import main

sys.exit(main())
