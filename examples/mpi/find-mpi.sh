#!/bin/sh
# Prints the directory that holds mpicc, mpicxx and mpiexec, or nothing when no
# MPI can be had. First choice: MPICH from PyPI in the virtual environment VENV
# (made with PYTHON and filled from REQS when it lacks mpicc or REQS changed);
# else an MPI on PATH.
#   sh examples/mpi/find-mpi.sh PYTHON VENV REQS
python=$1 venv=$2 reqs=$3
stamp="$venv/.mpi-requirements"
if [ ! -x "$venv/bin/mpicc" ] || [ ! -f "$stamp" ] || [ "$reqs" -nt "$stamp" ]; then
	{ { [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"; } &&
		"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --timeout 30 --retries 1 -r "$reqs" &&
		touch "$stamp"; } >&2 2>&1 || true
fi
on_path=$(command -v mpicc 2>/dev/null) && on_path=$(dirname "$on_path")
for dir in "$venv/bin" $on_path; do
	if [ -x "$dir/mpicc" ] && [ -x "$dir/mpicxx" ] && [ -x "$dir/mpiexec" ]; then
		echo "$dir"
		exit 0
	fi
done
exit 0
