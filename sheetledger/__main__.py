from sheetledger.cli import main

raise SystemExit(main())
