from editor.server import main

raise SystemExit(main())
