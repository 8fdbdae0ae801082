"""The command line: ``psf-workbench`` (`experiments.commands.cli`), its checks before a long run starts
(preflight), and the runners that sequence the steps and the report (`study`, `rehearsal`)."""
