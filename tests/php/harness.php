<?php
/**
 * Stand-ins for the parts of WHMCS that hooks/whmcs_bridge.php touches, and a driver that fires
 * its hooks.
 *
 *   php tests/php/harness.php <HookName> '<json params>' [<HookName> '<json params>' ...]
 *
 * Environment:
 *   WB_INBOX_DB       SQLite file the Capsule stand-in reads and writes (required)
 *   WB_ACTIVITY_LOG   file logActivity() appends to (one message a line)
 *   WB_ORIGIN         clientarea | admin | cron | api | none: which WHMCS area this request is in
 *   WB_CAPSULE_FAIL   1: every Capsule::table() call throws, like a lost database connection
 *   WB_HOOK_FILE      the hook file to load (default: hooks/whmcs_bridge.php of this checkout)
 *   WB_REPEAT         fire the whole list this many times (default 1), for timing
 *
 * Prints {"registered": [hook names the file registered], "returned": [return values of the
 * callbacks of the last fire], "returned_each": [the "returned" of each fire of the last round],
 * "elapsed_us": median microseconds per fire, "elapsed_all_us": [...], "fires": n}. Fires of one
 * run share one PHP request, so $_SESSION carries from one to the next as in one client session.
 * PHP warnings and notices go to
 * stderr, so a clean run has an empty stderr.
 */

namespace WHMCS\Database {

    class Capsule
    {
        /** @var \PDO|null */
        private static $pdo = null;

        public static function table($name)
        {
            if (getenv('WB_CAPSULE_FAIL') === '1') {
                throw new \RuntimeException(
                    'SQLSTATE[HY000] [2002] Connection refused (harness: WB_CAPSULE_FAIL=1)'
                );
            }
            return new QueryBuilder(self::connection(), $name);
        }

        private static function connection()
        {
            if (self::$pdo === null) {
                $path = getenv('WB_INBOX_DB');
                if ($path === false || $path === '') {
                    throw new \RuntimeException('harness: set WB_INBOX_DB to an SQLite file');
                }
                self::$pdo = new \PDO('sqlite:' . $path, null, null, [
                    \PDO::ATTR_ERRMODE => \PDO::ERRMODE_EXCEPTION,
                ]);
                // Stands in for WHMCS's MySQL connection: no fsync per insert, or the timing
                // would measure the test machine's disk instead of the hook.
                self::$pdo->exec('PRAGMA synchronous = OFF');
            }
            return self::$pdo;
        }
    }

    /** The few query-builder calls the hook file makes: insert(), where()->value(). */
    class QueryBuilder
    {
        private $pdo;
        private $table;
        private $wheres = [];

        public function __construct(\PDO $pdo, $table)
        {
            $this->pdo = $pdo;
            $this->table = $table;
        }

        public function where($column, $operatorOrValue, $value = null)
        {
            $operator = func_num_args() === 3 ? $operatorOrValue : '=';
            $value = func_num_args() === 3 ? $value : $operatorOrValue;
            if (!in_array($operator, ['=', '<', '>', '<=', '>=', '!=', '<>'], true)) {
                throw new \InvalidArgumentException("harness: unsupported operator $operator");
            }
            $this->wheres[] = [$column, $operator, $value];
            return $this;
        }

        public function value($column)
        {
            $sql = 'SELECT ' . self::quote($column) . ' FROM ' . self::quote($this->table);
            $bindings = [];
            if ($this->wheres) {
                $parts = [];
                foreach ($this->wheres as $where) {
                    $parts[] = self::quote($where[0]) . ' ' . $where[1] . ' ?';
                    $bindings[] = $where[2];
                }
                $sql .= ' WHERE ' . implode(' AND ', $parts);
            }
            $statement = $this->pdo->prepare($sql . ' LIMIT 1');
            $statement->execute($bindings);
            $row = $statement->fetch(\PDO::FETCH_NUM);
            return $row === false ? null : $row[0];
        }

        public function insert(array $row)
        {
            $columns = array_map([self::class, 'quote'], array_keys($row));
            $sql = 'INSERT INTO ' . self::quote($this->table) . ' (' . implode(', ', $columns)
                . ') VALUES (' . implode(', ', array_fill(0, count($row), '?')) . ')';
            return $this->pdo->prepare($sql)->execute(array_values($row));
        }

        private static function quote($name)
        {
            return '"' . str_replace('"', '""', $name) . '"';
        }
    }
}

namespace {

    if (!extension_loaded('pdo_sqlite')) {
        fwrite(STDERR, "harness: the PHP extension pdo_sqlite is missing; "
            . "run: apt-get install -y php-sqlite3\n");
        exit(2);
    }

    error_reporting(E_ALL);
    ini_set('display_errors', '0');
    set_error_handler(function ($level, $message, $file, $line) {
        fwrite(STDERR, "PHP error $level: $message in $file:$line\n");
        return true;
    });

    define('WHMCS', true);

    $harnessOrigin = getenv('WB_ORIGIN') ?: 'none';
    if ($harnessOrigin === 'clientarea') {
        define('CLIENTAREA', true);
    } elseif ($harnessOrigin === 'admin') {
        define('ADMINAREA', true);
    } elseif ($harnessOrigin === 'cron') {
        define('IN_CRON', true);
    } elseif ($harnessOrigin === 'api') {
        // WHMCS's App facade; API requests also run with ADMINAREA in some versions.
        define('ADMINAREA', true);

        class App
        {
            public static function isApiRequest()
            {
                return true;
            }
        }
    } elseif ($harnessOrigin !== 'none') {
        fwrite(STDERR, "harness: unknown WB_ORIGIN '$harnessOrigin'\n");
        exit(2);
    }

    $GLOBALS['harness_hooks'] = [];

    function add_hook($hookName, $priority, $callable)
    {
        $GLOBALS['harness_hooks'][$hookName][] = [
            'priority' => (int) $priority,
            'order' => count($GLOBALS['harness_hooks'][$hookName] ?? []),
            'callable' => $callable,
        ];
    }

    /** Like WHMCS's run_hook(): every callable registered for the hook, lowest priority first. */
    function run_hook($hookName, array $vars)
    {
        $hooks = $GLOBALS['harness_hooks'][$hookName] ?? [];
        usort($hooks, function ($a, $b) {
            return [$a['priority'], $a['order']] <=> [$b['priority'], $b['order']];
        });
        $returned = [];
        foreach ($hooks as $hook) {
            $returned[] = call_user_func($hook['callable'], $vars);
        }
        return $returned;
    }

    function logActivity($description, $userId = 0)
    {
        $path = getenv('WB_ACTIVITY_LOG');
        if ($path !== false && $path !== '') {
            file_put_contents($path, $description . "\n", FILE_APPEND);
        }
    }

    $fires = [];
    for ($i = 1; $i + 1 < $argc; $i += 2) {
        $params = json_decode($argv[$i + 1], true);
        if (!is_array($params)) {
            fwrite(STDERR, "harness: params for {$argv[$i]} are not a JSON object\n");
            exit(2);
        }
        $fires[] = [$argv[$i], $params];
    }
    if (!$fires || $argc % 2 !== 1) {
        fwrite(STDERR, "usage: php harness.php <HookName> '<json params>' [...]\n");
        exit(2);
    }

    require getenv('WB_HOOK_FILE') ?: __DIR__ . '/../../hooks/whmcs_bridge.php';

    $repeat = max(1, (int) (getenv('WB_REPEAT') ?: 1));
    $elapsed = [];
    $returned = [];
    $returnedEach = [];
    for ($round = 0; $round < $repeat; $round++) {
        $returnedEach = [];
        foreach ($fires as $fire) {
            $start = hrtime(true);
            $returned = run_hook($fire[0], $fire[1]);
            $elapsed[] = intdiv(hrtime(true) - $start, 1000);
            $returnedEach[] = $returned;
        }
    }
    $sorted = $elapsed;
    sort($sorted);
    $registered = array_keys($GLOBALS['harness_hooks']);
    sort($registered);
    echo json_encode([
        'registered' => $registered,
        'returned' => $returned,
        'returned_each' => $returnedEach,
        'elapsed_us' => $sorted[intdiv(count($sorted), 2)],
        'elapsed_all_us' => $elapsed,
        'fires' => count($elapsed),
    ]), "\n";
}
