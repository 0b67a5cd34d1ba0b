"""The default config and starter playbook: package data, installed as `winloss.config` (`winloss init` copies them)."""
