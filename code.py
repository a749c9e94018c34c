import switchyard.app

switchyard.app.main()
