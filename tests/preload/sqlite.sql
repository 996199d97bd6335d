-- 100,000 rows, an index, and queries with known results, run by sqlite3 under LD_PRELOAD.
CREATE TABLE t(id INTEGER PRIMARY KEY, grp INTEGER, name TEXT, payload BLOB);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000)
INSERT INTO t SELECT x, x % 97, 'name-' || (x * 7919 % 100003), zeroblob(x % 200) FROM c;
CREATE INDEX t_grp ON t(grp, name);
SELECT count(*), sum(id), sum(length(payload)) FROM t;
SELECT grp, count(*), min(name), max(name) FROM t WHERE grp IN (3, 50, 96) GROUP BY grp ORDER BY grp;
DELETE FROM t WHERE id % 3 = 0;
UPDATE t SET name = name || '-updated' WHERE grp < 10;
SELECT count(*), count(DISTINCT name), sum(grp) FROM t;
SELECT name FROM t WHERE grp = 7 ORDER BY name LIMIT 3;
