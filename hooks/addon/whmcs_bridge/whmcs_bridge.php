<?php
/**
 * whmcs-bridge staff page: a WHMCS addon module (Addons > whmcs-bridge in the admin area).
 *
 * Install: copy this folder to modules/addons/whmcs_bridge/, then in WHMCS go to
 * System Settings > Addon Modules, activate "whmcs-bridge", set the serve URL and the shared
 * secret (the same value as [serve] wake_secret) and choose which admin roles see it.
 *
 * It is a thin renderer: the tabs, rows and buttons come from `whmcs-bridge serve`
 * (POST /staff/tabs), and a button goes back to it (POST /staff/action) with the admin who
 * pressed it. No business rule is written here. Requests are signed like the hook file's:
 * X-Bridge-Timestamp and X-Bridge-Signature: sha256=HMAC(secret, "<timestamp>.<body>").
 * It never throws into WHMCS: when serve does not answer, the page says so in one line and
 * lists the command line for each kind of action.
 */

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

/** What WHMCS shows on System Settings > Addon Modules. */
function whmcs_bridge_config()
{
    return [
        'name' => 'whmcs-bridge',
        'description' => 'Transfers to approve, cancellations to confirm, the SLA board and '
            . 'failed alerts of the whmcs-bridge sidecar.',
        'version' => '1.0',
        'author' => 'whmcs-bridge',
        'language' => 'spanish',
        'fields' => [
            'serve_url' => [
                'FriendlyName' => 'serve URL',
                'Type' => 'text',
                'Size' => '40',
                'Default' => 'http://127.0.0.1:8742',
                'Description' => 'Where whmcs-bridge serve listens (loopback or private network)',
            ],
            'secret' => [
                'FriendlyName' => 'Shared secret',
                'Type' => 'password',
                'Size' => '40',
                'Description' => 'The same value as [serve] wake_secret',
            ],
        ],
    ];
}

/** Activation creates nothing: the bridge keeps its own tables. */
function whmcs_bridge_activate()
{
    return ['status' => 'success', 'description' => 'whmcs-bridge: set the serve URL and secret.'];
}

function whmcs_bridge_deactivate()
{
    return ['status' => 'success', 'description' => 'whmcs-bridge staff page turned off.'];
}

/** The page: tabs from serve, one form per button; never a PHP error on screen. */
function whmcs_bridge_output($vars)
{
    try {
        echo whmcs_bridge_page($vars);
    } catch (\Throwable $e) {
        echo '<div class="alert alert-danger">whmcs-bridge: '
            . whmcs_bridge_h(get_class($e) . ': ' . $e->getMessage()) . '</div>';
    }
}

function whmcs_bridge_h($text)
{
    return htmlspecialchars((string) $text, ENT_QUOTES, 'UTF-8');
}

/** The admin who is looking (tbladmins), and the page language from theirs. */
function whmcs_bridge_admin()
{
    $id = isset($_SESSION['adminid']) ? (int) $_SESSION['adminid'] : 0;
    $name = 'admin #' . $id;
    $language = 'spanish';
    if ($id > 0 && class_exists('\WHMCS\Database\Capsule')) {
        $row = \WHMCS\Database\Capsule::table('tbladmins')->where('id', $id)->first();
        if ($row) {
            $full = trim($row->firstname . ' ' . $row->lastname);
            $name = $full !== '' ? $full : $row->username;
            $language = $row->language ?: $language;
        }
    }
    return ['id' => $id, 'name' => $name, 'lang' => stripos($language, 'english') === 0 ? 'en' : 'es'];
}

/** POST a signed JSON body to serve; [status, decoded answer or null, error text]. */
function whmcs_bridge_call($vars, $path, $payload)
{
    $url = rtrim((string) ($vars['serve_url'] ?? ''), '/') . $path;
    $secret = (string) ($vars['secret'] ?? '');
    if (!function_exists('curl_init')) {
        return [0, null, 'PHP has no curl extension'];
    }
    $body = json_encode($payload);
    $timestamp = (string) time();
    $signature = hash_hmac('sha256', $timestamp . '.' . $body, $secret);
    $curl = curl_init($url);
    curl_setopt_array($curl, [
        CURLOPT_POST => true,
        CURLOPT_POSTFIELDS => $body,
        CURLOPT_RETURNTRANSFER => true,
        CURLOPT_CONNECTTIMEOUT_MS => 1000,
        CURLOPT_TIMEOUT_MS => 10000,
        CURLOPT_HTTPHEADER => [
            'Content-Type: application/json',
            'X-Bridge-Timestamp: ' . $timestamp,
            'X-Bridge-Signature: sha256=' . $signature,
        ],
    ]);
    $answer = curl_exec($curl);
    $status = (int) curl_getinfo($curl, CURLINFO_RESPONSE_CODE);
    $error = curl_error($curl);
    curl_close($curl);
    if ($answer === false) {
        return [0, null, $error !== '' ? $error : 'no answer'];
    }
    $decoded = json_decode((string) $answer, true);
    return [$status, is_array($decoded) ? $decoded : null, is_array($decoded) ? '' : 'not JSON'];
}

/** Words of the page itself (the tabs' words come from serve, in the admin's language). */
function whmcs_bridge_words($lang)
{
    $es = [
        'down' => 'whmcs-bridge serve no responde en %s (%s). Mientras tanto, desde el servidor:',
        'done' => 'Hecho',
        'changed' => 'No se hizo: cambió desde que se mostró la página. Se muestra de nuevo.',
        'failed' => 'No se hizo',
        'cycle' => 'Último ciclo',
        'ago' => 'hace %s s',
        'never' => 'todavía ninguno',
        'empty' => 'Nada pendiente.',
        'csrf' => 'El formulario venció: recargá la página.',
    ];
    $en = [
        'down' => 'whmcs-bridge serve does not answer at %s (%s). Meanwhile, on the server:',
        'done' => 'Done',
        'changed' => 'Not done: it changed since the page was drawn. Shown again.',
        'failed' => 'Not done',
        'cycle' => 'Last cycle',
        'ago' => '%s s ago',
        'never' => 'none yet',
        'empty' => 'Nothing waiting.',
        'csrf' => 'The form expired: reload the page.',
    ];
    return $lang === 'en' ? $en : $es;
}

/** Each kind of action from a shell, for when serve is down. */
function whmcs_bridge_cli_help()
{
    return [
        'whmcs-bridge transfer list',
        'whmcs-bridge transfer apply --id N --yes',
        'whmcs-bridge transfer cancel N --reply',
        'whmcs-bridge cancellations list',
        'whmcs-bridge cancellations confirm --id N',
        'whmcs-bridge cancellations done --service ID',
        'whmcs-bridge cancellations void --id N',
        'whmcs-bridge sla status',
        'whmcs-bridge contacts audit',
        'whmcs-bridge events retry ID',
        'whmcs-bridge outbox list --state dead',
        'whmcs-bridge outbox retry ID',
        'whmcs-bridge outbox resume CHANNEL',
    ];
}

function whmcs_bridge_token_field()
{
    return function_exists('generate_token') ? generate_token('form') : '';
}

/** Carry out a posted button; the message to show above the tabs. */
function whmcs_bridge_handle_post($vars, $admin, $words)
{
    if (($_SERVER['REQUEST_METHOD'] ?? 'GET') !== 'POST' || !isset($_POST['wb_action'])) {
        return '';
    }
    if (function_exists('check_token') && !check_token('WHMCS.admin.default')) {
        return '<div class="alert alert-danger">' . whmcs_bridge_h($words['csrf']) . '</div>';
    }
    $params = json_decode((string) ($_POST['wb_params'] ?? '{}'), true);
    [$status, $answer, $error] = whmcs_bridge_call($vars, '/staff/action', [
        'action' => (string) $_POST['wb_action'],
        // (object): an empty PHP array would be sent as [] and serve expects an object.
        'params' => (object) (is_array($params) ? $params : []),
        'version' => (string) ($_POST['wb_version'] ?? ''),
        'admin' => ['id' => $admin['id'], 'name' => $admin['name']],
    ]);
    $message = is_array($answer) ? (string) ($answer['message'] ?? $answer['error'] ?? '') : $error;
    if ($status === 200 && is_array($answer) && !empty($answer['ok'])) {
        return '<div class="alert alert-success">' . whmcs_bridge_h($words['done'] . ': ' . $message) . '</div>';
    }
    $lead = $status === 409 ? $words['changed'] : $words['failed'];
    return '<div class="alert alert-warning">' . whmcs_bridge_h($lead . ' ' . $message) . '</div>';
}

function whmcs_bridge_page($vars)
{
    $admin = whmcs_bridge_admin();
    $words = whmcs_bridge_words($admin['lang']);
    $link = (string) ($vars['modulelink'] ?? 'addonmodules.php?module=whmcs_bridge');
    $notice = whmcs_bridge_handle_post($vars, $admin, $words);
    [$status, $answer, $error] = whmcs_bridge_call($vars, '/staff/tabs', [
        'language' => $admin['lang'],
        'admin' => ['id' => $admin['id'], 'name' => $admin['name']],
    ]);
    $html = '<div id="whmcs-bridge">' . $notice;
    if ($status !== 200 || !is_array($answer) || !isset($answer['tabs'])) {
        $why = $error !== '' ? $error : ('HTTP ' . $status . ' ' . (string) ($answer['error'] ?? ''));
        $url = (string) ($vars['serve_url'] ?? '');
        $html .= '<p class="wb-down alert alert-danger">'
            . whmcs_bridge_h(sprintf($words['down'], $url, trim($why))) . '</p><ul class="wb-cli">';
        foreach (whmcs_bridge_cli_help() as $command) {
            $html .= '<li><code>' . whmcs_bridge_h($command) . '</code></li>';
        }
        return $html . '</ul></div>';
    }
    $tabs = $answer['tabs'];
    $current = isset($_GET['tab']) ? (string) $_GET['tab'] : ($tabs[0]['key'] ?? 'inicio');
    $html .= whmcs_bridge_health($answer['health'] ?? [], $words);
    $html .= '<ul class="nav nav-tabs wb-tabs">';
    foreach ($tabs as $tab) {
        $active = $tab['key'] === $current ? ' class="active"' : '';
        $badge = !empty($tab['badge']) ? ' <span class="badge">' . (int) $tab['badge'] . '</span>' : '';
        $html .= '<li' . $active . '><a href="' . whmcs_bridge_h($link . '&tab=' . rawurlencode($tab['key']))
            . '">' . whmcs_bridge_h($tab['title']) . $badge . '</a></li>';
    }
    $html .= '</ul>';
    foreach ($tabs as $tab) {
        if ($tab['key'] === $current) {
            $html .= whmcs_bridge_tab($tab, $link, $words);
        }
    }
    return $html . '</div>';
}

function whmcs_bridge_health($health, $words)
{
    if (!$health) {
        return '';
    }
    $age = $health['seconds_since_last_cycle'] ?? null;
    $when = $age === null ? $words['never'] : sprintf($words['ago'], $age);
    $tone = !empty($health['ok']) ? 'success' : 'danger';
    $error = (string) ($health['last_error'] ?? '');
    return '<p class="wb-health alert alert-' . $tone . '">' . whmcs_bridge_h($words['cycle'] . ': ' . $when)
        . ($error !== '' ? ' — ' . whmcs_bridge_h($error) : '') . '</p>';
}

function whmcs_bridge_tab($tab, $link, $words)
{
    $html = '<div class="wb-tab" data-tab="' . whmcs_bridge_h($tab['key']) . '">';
    if (($tab['summary'] ?? '') !== '') {
        $html .= '<p class="wb-summary">' . whmcs_bridge_h($tab['summary']) . '</p>';
    }
    foreach ($tab['sections'] as $section) {
        $html .= '<h3>' . whmcs_bridge_h($section['title']) . '</h3>';
        if (!$section['rows']) {
            $empty = ($section['empty'] ?? '') !== '' ? $section['empty'] : $words['empty'];
            $html .= '<p class="wb-empty">' . whmcs_bridge_h($empty) . '</p>';
            continue;
        }
        $html .= '<table class="table table-condensed wb-table"><thead><tr>';
        foreach ($section['columns'] as $column) {
            $html .= '<th>' . whmcs_bridge_h($column) . '</th>';
        }
        $html .= '<th></th></tr></thead><tbody>';
        foreach ($section['rows'] as $row) {
            $html .= whmcs_bridge_row($row, $link, $tab['key'], count($section['columns']));
        }
        $html .= '</tbody></table>';
    }
    return $html . '</div>';
}

function whmcs_bridge_row($row, $link, $tabKey, $width)
{
    $tone = ['bad' => ' class="danger"', 'warn' => ' class="warning"'][$row['tone'] ?? ''] ?? '';
    $html = '<tr' . $tone . '>';
    foreach ($row['cells'] as $i => $cell) {
        $text = whmcs_bridge_h($cell);
        $href = (string) (($row['links'] ?? [])[$i] ?? '');
        if ($href === '' && $i === 0) {
            $href = (string) ($row['link'] ?? '');
        }
        if ($href !== '') {
            $text = '<a href="' . whmcs_bridge_h($href) . '">' . $text . '</a>';
        }
        $html .= '<td>' . $text . '</td>';
    }
    $html .= '<td class="wb-actions">';
    foreach ($row['actions'] as $action) {
        $confirm = json_encode((string) $action['confirm']);
        $html .= '<form method="post" style="display:inline" action="'
            . whmcs_bridge_h($link . '&tab=' . rawurlencode($tabKey)) . '" onsubmit="return confirm('
            . whmcs_bridge_h($confirm) . ')">' . whmcs_bridge_token_field()
            . '<input type="hidden" name="wb_action" value="' . whmcs_bridge_h($action['name']) . '">'
            . '<input type="hidden" name="wb_params" value="' . whmcs_bridge_h(json_encode((object) $action['params'])) . '">'
            . '<input type="hidden" name="wb_version" value="' . whmcs_bridge_h($action['version']) . '">'
            . '<button type="submit" class="btn btn-xs ' . (!empty($action['danger']) ? 'btn-danger' : 'btn-default')
            . '" title="' . whmcs_bridge_h($action['cli']) . '">' . whmcs_bridge_h($action['label']) . '</button></form> ';
    }
    $html .= '</td></tr>';
    if (($row['detail'] ?? '') !== '') {
        $html .= '<tr class="wb-detail"><td colspan="' . ($width + 1) . '">' . whmcs_bridge_h($row['detail']) . '</td></tr>';
    }
    return $html;
}
