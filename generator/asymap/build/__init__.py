"""Hand the generated board projects to Vitis and read back what it produced.

``tree`` reads an ``asymap generate`` output tree, ``steps`` says which command each build step runs
per board and which tool it needs (``tools`` finds them), ``state`` keeps ``OUT/build.json`` true at
every moment, ``local``/``slurm`` run the commands, ``runner`` ties them together, and
``reports``/``compare`` parse Vitis's csynth.xml and hold it against the plan's predictions.
"""
