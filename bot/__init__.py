"""Runtime wiring: settings, the Application, i18n, guards, CLI and the offline stand-in."""
