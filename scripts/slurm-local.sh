#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for `dag run --executor slurm` and its tests.
#
#   scripts/slurm-local.sh start    write the config (if missing or different), start munge,
#                                   slurmctld and slurmd, wait until the node accepts jobs
#   scripts/slurm-local.sh stop     stop the three daemons
#   scripts/slurm-local.sh status   exit 0 when the node accepts jobs (prints sinfo)
#
# Idempotent: `start` on a running cluster only checks it. Needs root and the packages of
# scripts/setup.d/30-slurm.sh. The node gets this machine's real CPUs and memory (from
# `slurmd -C`) and two fake GPUs (gres on /dev/tty0 and /dev/tty1: a job asking
# --gres=gpu:1 gets CUDA_VISIBLE_DEVICES=0 or 1). No accounting database: jobs are
# only visible through squeue, as on clusters where sacct is disabled.
set -euo pipefail

CONF_DIR=/etc/slurm
STATE=/var/spool/slurmctld
SPOOL=/var/spool/slurmd
LOGS=/var/log/slurm
RUN=/run/slurm
PARTITION=${DAG_SLURM_PARTITION:-debug}

die() { echo "slurm-local: $*" >&2; exit 1; }

need() {
  [ "$(id -u)" = 0 ] || die "must run as root (it writes /etc/slurm and starts daemons)"
  for b in munged slurmctld slurmd sinfo scontrol; do
    command -v "$b" >/dev/null 2>&1 || die "$b not found: install the packages first (bash scripts/setup.sh, or apt-get install slurmctld slurmd slurm-client munge)"
  done
}

write_config() {
  local node host cpus sockets cores threads mem conf
  node=$(slurmd -C | head -1)
  host=$(hostname -s)
  cpus=$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$node")
  sockets=$(sed -n 's/.*SocketsPerBoard=\([0-9]*\).*/\1/p' <<<"$node")
  cores=$(sed -n 's/.*CoresPerSocket=\([0-9]*\).*/\1/p' <<<"$node")
  threads=$(sed -n 's/.*ThreadsPerCore=\([0-9]*\).*/\1/p' <<<"$node")
  mem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$node")
  [ -n "$cpus" ] && [ -n "$mem" ] || die "could not read this machine's CPUs/memory from 'slurmd -C': $node"
  conf=$(cat <<EOF
# Written by dag's scripts/slurm-local.sh: a one-node cluster on $host.
ClusterName=dag-local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$STATE
SlurmdSpoolDir=$SPOOL
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1024
GresTypes=gpu
ReturnToService=2
# Quick turn-around on one small node: finished jobs stay visible to squeue for 5 min
# (MinJobAge), a cancelled job's processes get SIGKILL 5 s after SIGTERM (KillWait).
MinJobAge=300
KillWait=5
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=60
MaxArraySize=1001
NodeName=$host CPUs=$cpus Boards=1 SocketsPerBoard=$sockets CoresPerSocket=$cores ThreadsPerCore=$threads RealMemory=$mem Gres=gpu:2 State=UNKNOWN
PartitionName=$PARTITION Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
)
  mkdir -p "$CONF_DIR" "$STATE" "$SPOOL" "$LOGS" "$RUN"
  if [ ! -f "$CONF_DIR/slurm.conf" ] || [ "$(cat "$CONF_DIR/slurm.conf")" != "$conf" ]; then
    printf '%s\n' "$conf" > "$CONF_DIR/slurm.conf"
    CHANGED=1
  fi
  local gres="Name=gpu File=/dev/tty[0-1]"
  if [ ! -f "$CONF_DIR/gres.conf" ] || [ "$(cat "$CONF_DIR/gres.conf")" != "$gres" ]; then
    printf '%s\n' "$gres" > "$CONF_DIR/gres.conf"
    CHANGED=1
  fi
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_munge() {
  if ! pid_alive /run/munge/munged.pid; then
    [ -f /etc/munge/munge.key ] || { mungekey --create --keyfile /etc/munge/munge.key 2>/dev/null || dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none; }
    chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
    mkdir -p /run/munge /var/log/munge /var/lib/munge && chown munge:munge /run/munge /var/log/munge /var/lib/munge
    runuser -u munge -- /usr/sbin/munged || die "munged did not start (see /var/log/munge/munged.log)"
  fi
  munge -n | unmunge >/dev/null || die "munge does not work (see /var/log/munge/munged.log)"
}

node_ready() {
  local state
  state=$(sinfo -h -N -o '%T' 2>/dev/null | head -1) || return 1
  case "$state" in idle|mixed|allocated|completing) return 0 ;; *) return 1 ;; esac
}

start() {
  need
  CHANGED=0
  write_config
  start_munge
  if [ "$CHANGED" = 1 ] && pid_alive "$RUN/slurmctld.pid"; then
    # New config: restart both daemons so they agree on it.
    stop_daemons
  fi
  pid_alive "$RUN/slurmctld.pid" || slurmctld || die "slurmctld did not start (see $LOGS/slurmctld.log)"
  pid_alive "$RUN/slurmd.pid" || slurmd || die "slurmd did not start (see $LOGS/slurmd.log)"
  for _ in $(seq 1 60); do
    if node_ready; then sinfo; return 0; fi
    # A node left DOWN/DRAIN by an earlier unclean stop comes back with this.
    scontrol update nodename="$(hostname -s)" state=resume >/dev/null 2>&1 || true
    sleep 0.5
  done
  sinfo -N -l >&2 || true
  tail -n 20 "$LOGS/slurmctld.log" "$LOGS/slurmd.log" >&2 || true
  die "the node did not become ready within 30 s"
}

stop_daemons() {
  for f in slurmd slurmctld; do
    if pid_alive "$RUN/$f.pid"; then
      kill "$(cat "$RUN/$f.pid")" || true
      for _ in $(seq 1 50); do pid_alive "$RUN/$f.pid" || break; sleep 0.1; done
    fi
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop_daemons ;;
  status) node_ready && sinfo ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
