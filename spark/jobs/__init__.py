"""The job lifecycle: submit, claim, progress, finish, cancel, relay, reap."""
