<?php
/**
 * whmcs-bridge: hook file for WHMCS.
 *
 * What it does
 *   For each panel event the bridge cares about (client added, password changed, invoice created /
 *   paid / cancelled, service suspended / unsuspended / terminated, quote, domain deleted,
 *   cancellation request, upgrade, contact, ticket) it inserts ONE row into the bridge's table
 *   `mod_whmcs_bridge_inbox` through WHMCS's own database connection, and returns. The sidecar
 *   (`whmcs-bridge run` from cron, or `whmcs-bridge serve`) turns the rows into events.
 *   Row columns: hook (the WHMCS hook name), payload (compact JSON: ids and a few short fields),
 *   origin (api | cron | admin | clientarea | unknown), created_at (PHP's local time; PHP's zone
 *   is kept in mod_whmcs_bridge_meta as php_timezone, so the bridge converts when they differ).
 *
 * It never stores passwords
 *   Hook parameters carry plaintext passwords (ClientAdd, UserChangePassword, module params). The
 *   payload is built from an allow-list of fields (WHMCS_BRIDGE_FIELDS below); nothing else is
 *   copied. ClientEdit stores only the NAMES of changed fields, never values, and never names
 *   password or authdata fields.
 *
 * It never breaks the panel
 *   Every hook body catches \Throwable; a failure is written to the activity log as
 *   "whmcs-bridge: could not record <Hook>: <message>" and the page goes on.
 *
 * Install
 *   1. Run the bridge once against the panel's database first: it creates its own tables
 *      (mod_whmcs_bridge_*). Until the inbox exists, each hook only logs "could not record".
 *   2. Copy this file to <whmcs>/includes/hooks/whmcs_bridge.php. WHMCS loads it on every request.
 *   3. Optional, only where `whmcs-bridge serve` runs: copy the config file described below.
 *
 * Optional config: <whmcs>/includes/hooks/_whmcs_bridge_config.php (WHMCS does not load files whose
 * name starts with "_"), returning an array:
 *     <?php
 *     return ['wake_url' => 'http://127.0.0.1:8742/wake', 'wake_secret' => 'long random text'];
 *   With both set, a PHP request that recorded at least one row sends ONE wake-up ping after its
 *   work is done (from a shutdown function), so the bridge acts within seconds instead of at the
 *   next cron tick. The ping carries no data, waits at most 200 ms, and every failure is ignored.
 *   Without curl, no ping is sent; cron picks the rows up anyway.
 *   With 'price_url' => 'http://127.0.0.1:8742/upgrades/price' as well, PreUpgradeCheckout asks the
 *   bridge for the company's upgrade price (signed the same way, 1 s at most) and returns it as
 *   ['amount' => ...]; on any failure WHMCS keeps its own price and the reason is logged.
 *   The same URL prices the client area's upgrade page (ClientAreaPageUpgrade, 1 s at most): the
 *   page shows what checkout will charge, and checkout charges what the page showed (remembered
 *   in the client's session); when the bridge does not answer, both keep WHMCS's own prices.
 *
 * Wake-up signature (must match the bridge's `serve` side)
 *   POST <wake_url>, empty body, headers:
 *     X-Bridge-Timestamp: <unix time in seconds, decimal>
 *     X-Bridge-Signature: sha256=<hex>
 *   where <hex> = lowercase hex HMAC-SHA256, key = wake_secret, message = "<timestamp>.<raw body>"
 *   (here the body is empty, so the message is "<timestamp>.").
 *
 * Compatible with PHP 7.4 to 8.3 and WHMCS 7.x / 8.x.
 */

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

// A second copy of this file in includes/hooks/ (a renamed backup) must not redeclare the
// functions, a fatal error on every page of the panel, nor record each event twice.
if (!defined('WHMCS_BRIDGE_HOOKS')) {
    define('WHMCS_BRIDGE_HOOKS', __FILE__);

    /**
     * The hooks and what each stores: hook => list of [payload key, source path, type].
     * A source path walks nested arrays with "." and lists alternatives with "|" (first present
     * wins). Types: int, string, decimal (money as a string, e.g. "-12.50").
     * ClientEdit and DomainDelete add one computed key each (see whmcs_bridge_payload).
     */
    function whmcs_bridge_fields()
    {
        static $fields = null;
        if ($fields !== null) {
            return $fields;
        }
        $invoice = [['invoiceid', 'invoiceid', 'int']];
        $module = [
            ['serviceid', 'params.serviceid', 'int'],
            ['client_id', 'params.userid', 'int'],
            ['pid', 'params.pid', 'int'],
        ];
        $service = [['serviceid', 'serviceid', 'int'], ['client_id', 'userid|clientId', 'int']];
        $quote = [['quoteid', 'quoteid', 'int'], ['status', 'status', 'string']];
        $upgrade = [['upgradeid', 'upgradeid|upgradeId', 'int']];
        $contact = [['client_id', 'userid', 'int'], ['contactid', 'contactid', 'int']];
        $ticketOpen = [
            ['ticketid', 'ticketid', 'int'],
            ['client_id', 'userid', 'int'],
            ['deptid', 'deptid', 'int'],
        ];
        $fields = [
            'ClientAdd' => [
                ['client_id', 'client_id|userid', 'int'],
                ['user_id', 'user_id', 'int'],
            ],
            'UserChangePassword' => [['user_id', 'userid|user_id', 'int']],
            'ClientChangePassword' => [['client_id', 'userid', 'int']],
            'ClientEdit' => [['client_id', 'userid', 'int']],
            'InvoiceCreated' => [['invoiceid', 'invoiceid', 'int'], ['source', 'source', 'string']],
            'InvoiceCancelled' => $invoice,
            'InvoicePaid' => $invoice,
            'AfterModuleSuspend' => array_merge(
                $module,
                [['suspendreason', 'params.suspendreason', 'string']]
            ),
            'AfterModuleUnsuspend' => $module,
            'AfterModuleTerminate' => $module,
            'ServiceEdit' => $service,
            'AdminServiceEdit' => $service,
            'ServiceDelete' => $service,
            'QuoteCreated' => $quote,
            'QuoteStatusChange' => $quote,
            'DomainDelete' => [['domainid', 'domainid', 'int'], ['client_id', 'userid', 'int']],
            'CancellationRequest' => [
                ['client_id', 'userid', 'int'],
                ['serviceid', 'relid', 'int'],
                ['type', 'type', 'string'],
            ],
            'PreUpgradeCheckout' => [
                ['client_id', 'clientId|userid', 'int'],
                ['upgradeid', 'upgradeId|upgradeid', 'int'],
                ['serviceid', 'serviceId|serviceid', 'int'],
                ['amount', 'amount', 'decimal'],
            ],
            'AfterProductUpgrade' => $upgrade,
            'AfterConfigOptionsUpgrade' => $upgrade,
            'ContactAdd' => $contact,
            'ContactEdit' => $contact,
            'ContactDelete' => $contact,
            'TicketOpen' => $ticketOpen,
            'TicketOpenAdmin' => $ticketOpen,
            'TicketUserReply' => [
                ['ticketid', 'ticketid', 'int'],
                ['replyid', 'replyid', 'int'],
                ['client_id', 'userid', 'int'],
            ],
            'TicketAdminReply' => [['ticketid', 'ticketid', 'int'], ['replyid', 'replyid', 'int']],
        ];
        return $fields;
    }

    /** Hooks whose return value WHMCS reads: they get an empty array (no change). */
    function whmcs_bridge_returning_hooks()
    {
        return ['PreUpgradeCheckout' => true];
    }

    function whmcs_bridge_register()
    {
        $returning = whmcs_bridge_returning_hooks();
        foreach (array_keys(whmcs_bridge_fields()) as $hook) {
            $answer = isset($returning[$hook]) ? [] : null;
            add_hook($hook, 1, function ($vars) use ($hook, $answer) {
                whmcs_bridge_record($hook, $vars);
                if ($hook === 'PreUpgradeCheckout') {
                    return whmcs_bridge_upgrade_price(is_array($vars) ? $vars : []);
                }
                return $answer;
            });
        }
        foreach (whmcs_bridge_page_hooks() as $hook => $function) {
            add_hook($hook, 1, function ($vars) use ($function) {
                return $function(is_array($vars) ? $vars : []);
            });
        }
    }

    /**
     * Hooks that only change a page: they return template variables and record no row (no
     * event). hook => the function that answers it.
     */
    function whmcs_bridge_page_hooks()
    {
        return ['ClientAreaPageUpgrade' => 'whmcs_bridge_upgrade_page'];
    }

    /** Insert one inbox row for $hook; never throws. */
    function whmcs_bridge_record($hook, $vars)
    {
        try {
            $payload = whmcs_bridge_payload($hook, is_array($vars) ? $vars : []);
            $json = json_encode($payload, JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE);
            if ($json === false) {
                throw new \RuntimeException('payload is not JSON: ' . json_last_error_msg());
            }
            \WHMCS\Database\Capsule::table('mod_whmcs_bridge_inbox')->insert([
                'hook' => $hook,
                'payload' => $json,
                'origin' => whmcs_bridge_origin(),
                'created_at' => date('Y-m-d H:i:s'),
            ]);
            whmcs_bridge_note_zone();
            whmcs_bridge_schedule_wake();
        } catch (\Throwable $e) {
            whmcs_bridge_log('whmcs-bridge: could not record ' . $hook . ': ' . $e->getMessage());
        }
    }

    /**
     * created_at is PHP's local time: record PHP's zone (once per request, only when it
     * changed) so the bridge reads the rows in the right zone and `doctor` can say when
     * [panel] timezone differs from it. Best effort: a failure here loses no row.
     */
    function whmcs_bridge_note_zone()
    {
        static $noted = false;
        if ($noted) {
            return;
        }
        $noted = true;
        try {
            $zone = date_default_timezone_get();
            $meta = \WHMCS\Database\Capsule::table('mod_whmcs_bridge_meta');
            $known = $meta->where('name', 'php_timezone')->value('value');
            if ($known === null) {
                $meta->insert(['name' => 'php_timezone', 'value' => $zone]);
            } elseif ($known !== $zone) {
                \WHMCS\Database\Capsule::table('mod_whmcs_bridge_meta')
                    ->where('name', 'php_timezone')->update(['value' => $zone]);
            }
        } catch (\Throwable $e) {
            // The zone is a hint for the bridge; the row itself is already stored.
        }
    }

    function whmcs_bridge_payload($hook, array $vars)
    {
        $fields = whmcs_bridge_fields();
        $payload = [];
        foreach ($fields[$hook] as $field) {
            $payload[$field[0]] = whmcs_bridge_cast(whmcs_bridge_pick($vars, $field[1]), $field[2]);
        }
        if ($hook === 'ClientEdit') {
            $payload['changed'] = whmcs_bridge_changed($vars);
        } elseif ($hook === 'DomainDelete') {
            // The hook passes no name and the row is about to be deleted: read it now.
            $payload['domain'] = whmcs_bridge_domain_name($payload['domainid']);
        }
        return $payload;
    }

    function whmcs_bridge_pick(array $vars, $path)
    {
        foreach (explode('|', $path) as $alternative) {
            $value = $vars;
            foreach (explode('.', $alternative) as $key) {
                if (!is_array($value) || !array_key_exists($key, $value)) {
                    continue 2;
                }
                $value = $value[$key];
            }
            if ($value !== null) {
                return $value;
            }
        }
        return null;
    }

    function whmcs_bridge_cast($value, $type)
    {
        if ($value === null) {
            return null;
        }
        if (is_object($value) && method_exists($value, '__toString')) {
            $value = (string) $value;
        }
        if (!is_scalar($value)) {
            return null;
        }
        if ($type === 'int') {
            if (is_bool($value) || is_int($value)) {
                return (int) $value;
            }
            if ($value === '') {
                return 0;
            }
            return is_numeric($value) ? (int) $value : null;
        }
        if ($type === 'decimal') {
            if (is_float($value)) {
                return number_format(round($value, 2), 2, '.', '');
            }
            $value = trim((string) $value);
            return is_numeric($value) ? $value : null;
        }
        return (string) $value;
    }

    /** Sorted names of the fields whose value differs from `olddata`; null without olddata. */
    function whmcs_bridge_changed(array $vars)
    {
        if (!isset($vars['olddata']) || !is_array($vars['olddata'])) {
            return null;
        }
        $changed = [];
        foreach ($vars['olddata'] as $name => $old) {
            if (!is_string($name) || $name === 'olddata' || !array_key_exists($name, $vars)) {
                continue;
            }
            $lower = strtolower($name);
            if ($lower === 'authdata' || strpos($lower, 'password') !== false) {
                continue;
            }
            if (!whmcs_bridge_same($old, $vars[$name])) {
                $changed[] = $name;
            }
        }
        sort($changed, SORT_STRING);
        return $changed;
    }

    function whmcs_bridge_same($old, $new)
    {
        // e-mail preferences may be a JSON text on one side and an array on the other.
        if (is_array($old) && is_string($new)) {
            $new = json_decode($new, true);
        } elseif (is_string($old) && is_array($new)) {
            $old = json_decode($old, true);
        }
        return whmcs_bridge_normal($old) === whmcs_bridge_normal($new);
    }

    /** A comparable form: database text and PHP values ("1" and 1, "" and null) compare equal. */
    function whmcs_bridge_normal($value)
    {
        if (is_array($value)) {
            ksort($value);
            foreach ($value as $key => $item) {
                $value[$key] = whmcs_bridge_normal($item);
            }
            return $value;
        }
        if (is_bool($value)) {
            return $value ? '1' : '0';
        }
        if ($value === null) {
            return '';
        }
        if (is_scalar($value) || (is_object($value) && method_exists($value, '__toString'))) {
            return (string) $value;
        }
        return is_object($value) ? whmcs_bridge_normal(get_object_vars($value)) : '';
    }

    function whmcs_bridge_domain_name($domainId)
    {
        if (!$domainId) {
            return null;
        }
        try {
            $name = \WHMCS\Database\Capsule::table('tbldomains')
                ->where('id', $domainId)
                ->value('domain');
        } catch (\Throwable $e) {
            // A broken connection is reported by the insert; the row is worth having anyway.
            return null;
        }
        return ($name === null || $name === false) ? null : (string) $name;
    }

    function whmcs_bridge_origin()
    {
        try {
            // App is a facade: isApiRequest() may be reachable through __callStatic only.
            if (class_exists('App') && is_callable(['App', 'isApiRequest'])
                && \App::isApiRequest()
            ) {
                return 'api';
            }
        } catch (\Throwable $e) {
            // not every WHMCS version has it; fall through to the constants
        }
        if (defined('IN_CRON')) {
            return 'cron';
        }
        if (defined('ADMINAREA')) {
            return 'admin';
        }
        if (defined('CLIENTAREA')) {
            return 'clientarea';
        }
        return 'unknown';
    }

    function whmcs_bridge_log($message)
    {
        try {
            if (function_exists('logActivity')) {
                logActivity(substr($message, 0, 1000));
            }
        } catch (\Throwable $e) {
            // nowhere left to report it; the page goes on
        }
    }

    /**
     * PreUpgradeCheckout: ask `serve` for the company's price (R-UP-1), synchronously.
     *
     * Only when _whmcs_bridge_config.php sets `price_url` and `wake_secret`. POSTs
     * {"serviceId","upgradeId","clientId","amount","discount"} signed like the wake-up ping, waits
     * at most 1 s in all, and returns ['amount' => "<decimal>"] only for a 200 whose JSON holds a
     * numeric "amount". On any failure (timeout, refused, non-200, bad JSON, no curl) it returns
     * [] so WHMCS keeps its own price, and logs why. A 204 is the bridge abstaining: [] silently.
     *
     * The client never pays another price than the upgrade page showed: when that page (in this
     * session, for this service, package and cycle) showed WHMCS's own price, WHMCS's price is
     * kept without asking; when it showed the bridge's and the bridge cannot answer now, the
     * amount shown is charged.
     */
    function whmcs_bridge_upgrade_price(array $vars)
    {
        $reason = '';
        $shown = null;
        try {
            $config = whmcs_bridge_config();
            if (empty($config['price_url']) || empty($config['wake_secret'])) {
                return [];
            }
            $serviceId = whmcs_bridge_cast(whmcs_bridge_pick($vars, 'serviceId|serviceid'), 'int');
            $shown = whmcs_bridge_take_shown((int) $serviceId);
            if ($shown !== null && $shown['amount'] === null) {
                return [];  // the page showed WHMCS's price: charge that one
            }
            $body = json_encode([
                'serviceId' => $serviceId,
                'upgradeId' => whmcs_bridge_cast(
                    whmcs_bridge_pick($vars, 'upgradeId|upgradeid'),
                    'int'
                ),
                'clientId' => whmcs_bridge_cast(whmcs_bridge_pick($vars, 'clientId|userid'), 'int'),
                'amount' => whmcs_bridge_cast(whmcs_bridge_pick($vars, 'amount'), 'decimal'),
                'discount' => whmcs_bridge_cast(whmcs_bridge_pick($vars, 'discount'), 'decimal'),
            ]);
            $data = whmcs_bridge_post_signed($config['price_url'], $config['wake_secret'], $body);
            if ($data === null) {
                return $shown === null ? [] : ['amount' => $shown['amount']];  // 204: abstains
            }
            $amount = isset($data['amount']) ? $data['amount'] : null;
            if (!whmcs_bridge_is_amount($amount)) {
                throw new \RuntimeException('the answer holds no valid amount');
            }
            return ['amount' => $amount];
        } catch (\Throwable $e) {
            $reason = $e->getMessage();
        }
        if ($shown !== null) {
            whmcs_bridge_log(
                'whmcs-bridge: upgrade price unavailable, the price the page showed is charged: '
                . $reason
            );
            return ['amount' => $shown['amount']];
        }
        whmcs_bridge_log('whmcs-bridge: upgrade price unavailable, WHMCS price kept: ' . $reason);
        return [];
    }

    function whmcs_bridge_is_amount($amount)
    {
        return is_string($amount) && preg_match('/^-?\d{1,13}(\.\d{1,2})?$/', $amount) === 1;
    }

    /** The optional config file's array ([] without one). */
    function whmcs_bridge_config()
    {
        $file = __DIR__ . '/_whmcs_bridge_config.php';
        $config = is_file($file) ? include $file : null;
        return is_array($config) ? $config : [];
    }

    /**
     * POST a JSON body to `serve`, signed like the wake-up ping, 1 s at most in all. Returns the
     * decoded JSON of a 200, null for a 204 (the bridge abstains); throws on anything else.
     */
    function whmcs_bridge_post_signed($url, $secret, $body)
    {
        if (!function_exists('curl_init')) {
            throw new \RuntimeException('the PHP curl extension is missing');
        }
        $timestamp = (string) time();
        $signature = hash_hmac('sha256', $timestamp . '.' . $body, (string) $secret);
        $curl = curl_init((string) $url);
        if ($curl === false) {
            throw new \RuntimeException('curl_init failed');
        }
        $options = [
            CURLOPT_POST => true,
            CURLOPT_POSTFIELDS => $body,
            CURLOPT_HTTPHEADER => [
                'Content-Type: application/json',
                'X-Bridge-Timestamp: ' . $timestamp,
                'X-Bridge-Signature: sha256=' . $signature,
                'Expect:',
            ],
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_FOLLOWLOCATION => false,
            CURLOPT_NOSIGNAL => true,
            CURLOPT_TIMEOUT_MS => 1000,
            CURLOPT_CONNECTTIMEOUT_MS => 300,
        ];
        if (defined('CURLOPT_NOPROXY')) {
            $options[CURLOPT_NOPROXY] = '*';
        }
        curl_setopt_array($curl, $options);
        $answer = curl_exec($curl);
        $status = (int) curl_getinfo($curl, CURLINFO_RESPONSE_CODE);
        $error = curl_error($curl);
        if (PHP_VERSION_ID < 80000) {
            curl_close($curl);
        }
        if ($answer === false) {
            throw new \RuntimeException('no answer (' . $error . ')');
        }
        if ($status === 204) {
            return null;
        }
        if ($status !== 200) {
            throw new \RuntimeException('HTTP ' . $status);
        }
        $data = json_decode((string) $answer, true);
        if (!is_array($data)) {
            throw new \RuntimeException('the answer is not a JSON object');
        }
        return $data;
    }

    /**
     * ClientAreaPageUpgrade: the upgrade page shows the price checkout will charge (R-UP-2).
     *
     * With `price_url`, asks `serve` (one signed call, 1 s at most) for every package and cycle
     * the page lists and returns the stock templates' variables with the company's prices:
     * on the package list (upgrade.tpl) each cycle's text gets what is due today; on the summary
     * (upgradesummary.tpl) the price, subtotal and total become the company's amount and the
     * explanation goes under the new package's name. The session remembers which price the
     * summary showed, so checkout charges that one (whmcs_bridge_upgrade_price). When `serve`
     * does not answer, or the summary carries a promotion or tax lines (whose figures WHMCS
     * computes from its own price), the page keeps WHMCS's prices and checkout WHMCS's price.
     */
    function whmcs_bridge_upgrade_page(array $vars)
    {
        $reason = '';
        $summary = null;
        try {
            $serviceId = (int) whmcs_bridge_cast(whmcs_bridge_pick($vars, 'id'), 'int');
            if ($serviceId <= 0) {
                return [];
            }
            whmcs_bridge_take_shown($serviceId);  // whatever an earlier page showed is stale
            $config = whmcs_bridge_config();
            if (whmcs_bridge_pick($vars, 'type') !== 'package' || empty($config['price_url'])
                || empty($config['wake_secret'])
            ) {
                return [];
            }
            $list = whmcs_bridge_page_targets($vars);
            if (!$list) {
                return [];
            }
            $summary = $list[0] === 'upgradesummary' ? $list[1][0] : null;
            if ($summary !== null && whmcs_bridge_page_has_extras($vars)) {
                whmcs_bridge_remember_shown($serviceId, $summary, null);
                return [];
            }
            $clientId = whmcs_bridge_pick($vars, 'clientsdetails.userid|clientsdetails.id');
            if ($clientId === null && isset($_SESSION['uid'])) {
                $clientId = $_SESSION['uid'];
            }
            $body = json_encode([
                'page' => $list[0],
                'serviceId' => $serviceId,
                'clientId' => whmcs_bridge_cast($clientId, 'int'),
                'language' => whmcs_bridge_cast(
                    whmcs_bridge_pick($vars, 'language|clientsdetails.language'),
                    'string'
                ),
                'targets' => $list[1],
            ], JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE);
            $data = whmcs_bridge_post_signed($config['price_url'], $config['wake_secret'], $body);
            $prices = is_array($data) && isset($data['targets']) && is_array($data['targets'])
                ? $data['targets'] : [];
            if ($summary === null) {
                return whmcs_bridge_page_choices($vars, $prices);
            }
            $price = whmcs_bridge_page_price($prices, $summary['pid'], $summary['cycles'][0]);
            if ($price === null) {  // not priced by the bridge: WHMCS's price, here and at checkout
                whmcs_bridge_remember_shown($serviceId, $summary, null);
                return [];
            }
            whmcs_bridge_remember_shown($serviceId, $summary, $price['amount']);
            return whmcs_bridge_page_summary($vars, $price);
        } catch (\Throwable $e) {
            $reason = $e->getMessage();
        }
        if ($summary !== null) {
            whmcs_bridge_remember_shown($serviceId, $summary, null);
        }
        whmcs_bridge_log('whmcs-bridge: upgrade page keeps WHMCS prices: ' . $reason);
        return [];
    }

    /**
     * ['upgrade', [[pid, cycles], ...]] for the package list, ['upgradesummary', [[pid,
     * [cycle]]]] for the summary, or null when the page lists no package.
     */
    function whmcs_bridge_page_targets(array $vars)
    {
        if (isset($vars['upgradepackages']) && is_array($vars['upgradepackages'])) {
            $targets = [];
            foreach ($vars['upgradepackages'] as $package) {
                $package = is_array($package) ? $package : [];
                $pid = whmcs_bridge_cast(whmcs_bridge_pick($package, 'pid|id'), 'int');
                $cycles = whmcs_bridge_package_cycles($package);
                if ($pid && $cycles) {
                    $targets[] = ['pid' => $pid, 'cycles' => $cycles];
                }
            }
            return $targets ? ['upgrade', $targets] : null;
        }
        if (isset($vars['upgrades']) && is_array($vars['upgrades']) && $vars['upgrades']) {
            $first = reset($vars['upgrades']);
            $first = is_array($first) ? $first : [];
            $pid = whmcs_bridge_cast(whmcs_bridge_pick($first, 'newproductid'), 'int');
            $cycle = whmcs_bridge_pick($first, 'newproductbillingcycle');
            if ($pid && is_string($cycle) && $cycle !== '') {
                return ['upgradesummary', [['pid' => $pid, 'cycles' => [strtolower($cycle)]]]];
            }
        }
        return null;
    }

    /** The cycles upgrade.tpl offers for a package (those with a price text). */
    function whmcs_bridge_package_cycles(array $package)
    {
        $pricing = isset($package['pricing']) && is_array($package['pricing'])
            ? $package['pricing'] : [];
        $type = isset($pricing['type']) ? $pricing['type'] : '';
        if ($type === 'free' || $type === 'onetime') {
            return [$type];
        }
        $cycles = [];
        $recurring = [
            'monthly', 'quarterly', 'semiannually', 'annually', 'biennially', 'triennially',
        ];
        foreach ($recurring as $cycle) {
            if (!empty($pricing[$cycle])) {
                $cycles[] = $cycle;
            }
        }
        return $type === 'recurring' ? $cycles : [];
    }

    /** A promotion or tax lines on the summary: their figures are WHMCS's, from its price. */
    function whmcs_bridge_page_has_extras(array $vars)
    {
        foreach (['promocode', 'promodesc'] as $key) {
            if (!empty($vars[$key])) {
                return true;
            }
        }
        foreach (['taxrate', 'taxrate2'] as $key) {
            if (!empty($vars[$key]) && (float) $vars[$key] != 0.0) {
                return true;
            }
        }
        return false;
    }

    /** The bridge's answer for one package and cycle, checked; null when it gave none. */
    function whmcs_bridge_page_price(array $prices, $pid, $cycle)
    {
        $entry = isset($prices[(string) $pid][$cycle]) ? $prices[(string) $pid][$cycle] : null;
        if (!is_array($entry)) {
            return null;
        }
        foreach (['price', 'label', 'explanation'] as $key) {
            if (!isset($entry[$key]) || !is_string($entry[$key]) || strlen($entry[$key]) > 1000) {
                throw new \RuntimeException("the answer for $pid $cycle lacks a valid $key");
            }
        }
        if (!whmcs_bridge_is_amount(isset($entry['amount']) ? $entry['amount'] : null)) {
            throw new \RuntimeException("the answer for $pid $cycle holds no valid amount");
        }
        return $entry;
    }

    function whmcs_bridge_html($text)
    {
        return htmlspecialchars((string) $text, ENT_QUOTES, 'UTF-8');
    }

    /** upgrade.tpl: each cycle's text gets what is due today beside it. */
    function whmcs_bridge_page_choices(array $vars, array $prices)
    {
        $packages = $vars['upgradepackages'];
        $shown = [];
        foreach ($packages as $key => $package) {
            $package = is_array($package) ? $package : [];
            $pid = whmcs_bridge_cast(whmcs_bridge_pick($package, 'pid|id'), 'int');
            foreach (whmcs_bridge_package_cycles($package) as $cycle) {
                $price = whmcs_bridge_page_price($prices, $pid, $cycle);
                if ($price === null) {
                    continue;  // WHMCS's text, and WHMCS's price at checkout
                }
                $packages[$key]['pricing'][$cycle] = (string) $package['pricing'][$cycle]
                    . ' (' . whmcs_bridge_html($price['label']) . ')';
                $shown[$pid][$cycle] = $price;
            }
        }
        return $shown ? ['upgradepackages' => $packages, 'whmcs_bridge_upgrade' => $shown] : [];
    }

    /** upgradesummary.tpl: the company's amount, and how it was reached. */
    function whmcs_bridge_page_summary(array $vars, array $price)
    {
        $upgrades = $vars['upgrades'];
        $key = key($upgrades);
        $upgrades[$key]['price'] = whmcs_bridge_html($price['price']);
        $name = isset($upgrades[$key]['newproductname']) ? $upgrades[$key]['newproductname'] : '';
        $upgrades[$key]['newproductname'] = (string) $name
            . '<br /><small>' . whmcs_bridge_html($price['explanation']) . '</small>';
        return [
            'upgrades' => $upgrades,
            'subtotal' => whmcs_bridge_html($price['price']),
            'total' => whmcs_bridge_html($price['price']),
            'whmcs_bridge_upgrade' => $price,
        ];
    }

    /** Remember, in the client's session, which price the summary showed (null: WHMCS's). */
    function whmcs_bridge_remember_shown($serviceId, array $target, $amount)
    {
        $_SESSION['whmcs_bridge_upgrade'][$serviceId] = [
            'pid' => (int) $target['pid'],
            'cycle' => (string) $target['cycles'][0],
            'amount' => $amount,
            'at' => time(),
        ];
    }

    /**
     * What the summary showed for this service (read once), or null: none in this session, more
     * than an hour old, or for another package or cycle than the one being checked out.
     */
    function whmcs_bridge_take_shown($serviceId)
    {
        if (!isset($_SESSION['whmcs_bridge_upgrade'][$serviceId])) {
            return null;
        }
        $shown = $_SESSION['whmcs_bridge_upgrade'][$serviceId];
        unset($_SESSION['whmcs_bridge_upgrade'][$serviceId]);
        if (!is_array($shown) || !isset($shown['at']) || time() - (int) $shown['at'] > 3600
            || !array_key_exists('amount', $shown)
        ) {
            return null;
        }
        foreach (['pid' => 'pid', 'cycle' => 'billingcycle'] as $key => $posted) {
            $value = isset($_REQUEST[$posted]) ? strtolower((string) $_REQUEST[$posted]) : null;
            if ($value !== null && $value !== strtolower((string) $shown[$key])) {
                return null;
            }
        }
        if (isset($_REQUEST['type']) && $_REQUEST['type'] !== 'package') {
            return null;
        }
        return $shown;
    }

    /** At most one wake-up ping per PHP request, after the request's own work. */
    function whmcs_bridge_schedule_wake()
    {
        static $scheduled = false;
        if ($scheduled) {
            return;
        }
        $scheduled = true;
        register_shutdown_function('whmcs_bridge_wake');
    }

    function whmcs_bridge_wake()
    {
        try {
            $file = __DIR__ . '/_whmcs_bridge_config.php';
            if (!function_exists('curl_init') || !is_file($file)) {
                return;
            }
            $config = include $file;
            if (!is_array($config) || empty($config['wake_url']) || empty($config['wake_secret'])) {
                return;
            }
            $body = '';
            $timestamp = (string) time();
            $secret = (string) $config['wake_secret'];
            $signature = hash_hmac('sha256', $timestamp . '.' . $body, $secret);
            $curl = curl_init((string) $config['wake_url']);
            if ($curl === false) {
                return;
            }
            $options = [
                CURLOPT_POST => true,
                CURLOPT_POSTFIELDS => $body,
                CURLOPT_HTTPHEADER => [
                    'X-Bridge-Timestamp: ' . $timestamp,
                    'X-Bridge-Signature: sha256=' . $signature,
                    'Expect:',
                ],
                CURLOPT_RETURNTRANSFER => true,
                CURLOPT_FOLLOWLOCATION => false,
                // Sub-second timeouts need NOSIGNAL, or some resolvers time out at once.
                CURLOPT_NOSIGNAL => true,
                CURLOPT_TIMEOUT_MS => 200,
                CURLOPT_CONNECTTIMEOUT_MS => 100,
            ];
            if (defined('CURLOPT_NOPROXY')) {
                $options[CURLOPT_NOPROXY] = '*';
            }
            curl_setopt_array($curl, $options);
            curl_exec($curl);
            if (PHP_VERSION_ID < 80000) {
                curl_close($curl);
            }
        } catch (\Throwable $e) {
            // a missed ping only delays the bridge until its next cron tick
        }
    }

    whmcs_bridge_register();
}
