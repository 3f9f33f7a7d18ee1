"""The client SDK that runs beside training: ``TrainingMonitor`` and what carries its records to a server
(spool, journals, transport), captures a program's terminal (``pty_runner``) and parses printed metrics."""
