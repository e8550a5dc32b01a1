# Slurm 22.05 (Debian 12) for `dag run --executor slurm` and its tests: the controller and node
# daemons, the client commands (sbatch, squeue, scancel, scontrol) and munge for their
# authentication. Nothing is configured or started here: scripts/slurm-local.sh does that
# (the Slurm test file calls it). (Sourced by scripts/setup.sh, which provides apt_install.)
apt_install slurmctld slurmd slurm-client munge
