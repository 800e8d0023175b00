from __future__ import annotations

import sys

from mock_agencies.cli import main

sys.exit(main())
