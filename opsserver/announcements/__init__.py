"""Public announcements (作业公告) of ground operations: the notice, its text and CAP rendering."""
