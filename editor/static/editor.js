fetch("/api/validate")
