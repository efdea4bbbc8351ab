"""python -m services.asyncapi --write | --check"""

import sys

from services.asyncapi import main

sys.exit(main())
