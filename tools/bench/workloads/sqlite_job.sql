-- sqlite workload for the aixmalloc benchmark suite.
--
-- Pattern modelled: an embedded SQL database doing bulk work in memory:
-- building a table of @ROWS@ rows (text, real and blob columns of varying
-- sizes), building an index, aggregate and sorting queries, an update and a
-- delete. SQLite allocates page cache, row records, sort buffers and
-- expression values with malloc/realloc/free (and malloc_usable_size).
--
-- tools/bench/run replaces @ROWS@ (200000, or 30000 with --quick) and feeds
-- this script to `sqlite3 -bail :memory:` on stdin. Every query prints a
-- deterministic result; the "check" lines compare against values known in
-- closed form and print "ok" (anything else prints "BAD").
PRAGMA cache_size = -131072;
CREATE TABLE t(id INTEGER PRIMARY KEY, grp INTEGER NOT NULL, name TEXT NOT NULL, val REAL, payload BLOB);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < @ROWS@)
INSERT INTO t
SELECT x,
       (x * 7919) % 1000,
       printf('name-%07d-%s', (x * 2654435761) % 1000003, substr('abcdefghijklmnopqrstuvwxyz', 1 + x % 26, 1 + x % 13)),
       (x % 977) * 0.5,
       zeroblob(16 + (x * 31) % 200)
FROM c;
CREATE INDEX t_grp_name ON t(grp, name);
CREATE INDEX t_name ON t(name);

SELECT 'check rows', CASE WHEN count(*) = @ROWS@ AND sum(id) = @ROWS@ * (@ROWS@ + 1) / 2 THEN 'ok' ELSE 'BAD' END FROM t;
SELECT 'totals', count(*), sum(grp), sum(length(name)), total(val), sum(length(payload)) FROM t;
SELECT 'groups', grp, count(*), min(name), max(name) FROM t WHERE grp BETWEEN 100 AND 104 GROUP BY grp ORDER BY grp;
SELECT 'distinct', count(DISTINCT substr(name, 14)) FROM t;
SELECT 'top', id, name FROM t ORDER BY name DESC, id LIMIT 5;
SELECT 'sorted', sum(rn * (id % 10)) FROM (SELECT id, row_number() OVER (ORDER BY val DESC, name) AS rn FROM t);
SELECT 'concat', length(group_concat(name, ',')) FROM (SELECT name FROM t WHERE grp < 50 ORDER BY name);

UPDATE t SET name = name || '-updated-' || grp, payload = zeroblob(300) WHERE id % 3 = 0;
DELETE FROM t WHERE id % 5 = 0;
SELECT 'check delete', CASE WHEN count(*) = @ROWS@ - @ROWS@ / 5 THEN 'ok' ELSE 'BAD' END FROM t;
SELECT 'after', count(*), sum(length(name)), sum(length(payload)) FROM t;
SELECT 'join', count(*) FROM t AS a JOIN t AS b ON b.id = a.id + 1 WHERE a.grp = b.grp - 919 OR a.grp = b.grp + 81;
SELECT 'integrity', * FROM pragma_integrity_check;
