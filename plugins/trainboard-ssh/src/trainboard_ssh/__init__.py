"""trainboard-ssh: a launch provider running jobs on another host over SSH (entry point ``ssh``)."""

TRAINBOARD_API = 1
