"""`python -m bench` (./run bench): every benchmark in turn. Each module also runs on its own."""

from bench import ingress, pool, turn

if __name__ == "__main__":
    turn.main()
    ingress.main()
    pool.main()
