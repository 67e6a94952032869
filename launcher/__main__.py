import sys

from launcher.commands import main

sys.exit(main())
