<?php
/**
 * Stand-ins for the parts of WHMCS's admin area that the staff page's addon module touches, and a
 * driver that renders its page once.
 *
 *   php tests/php/addon_harness.php
 *
 * Environment:
 *   WB_SERVE_URL, WB_SECRET   the addon's two settings (serve URL, shared secret)
 *   WB_ADMIN                  JSON of the tbladmins row of the admin looking (id, firstname, ...)
 *   WB_TAB                    the tab asked for (?tab=...)
 *   WB_POST                   JSON of a posted form (wb_action, wb_params, wb_version, token)
 *   WB_TOKEN                  the CSRF token WHMCS issued this session (default "tok-1")
 *   WB_CALL                   a function of the module to call instead of rendering (config, activate)
 *
 * Prints the page's HTML (or the function's result as JSON). PHP warnings go to stderr, so a
 * clean run has an empty stderr.
 */

namespace WHMCS\Database {

    class Capsule
    {
        public static function table($name)
        {
            return new Query($name);
        }
    }

    class Query
    {
        private $name;
        private $id = null;

        public function __construct($name)
        {
            $this->name = $name;
        }

        public function where($column, $value)
        {
            $this->id = (int) $value;
            return $this;
        }

        public function first()
        {
            $admin = json_decode((string) getenv('WB_ADMIN'), false);
            if ($this->name !== 'tbladmins' || !$admin || (int) $admin->id !== $this->id) {
                return null;
            }
            return $admin;
        }
    }
}

namespace {
    error_reporting(E_ALL);
    ini_set('display_errors', 'stderr');
    define('WHMCS', true);
    session_id('harness');
    $_SESSION = [];

    /** WHMCS's CSRF helpers: the token of the session, checked on every posted form. */
    function generate_token($type = 'form')
    {
        $token = getenv('WB_TOKEN') ?: 'tok-1';
        return '<input type="hidden" name="token" value="' . $token . '" />';
    }

    function check_token($namespace = 'WHMCS.admin.default')
    {
        return isset($_POST['token']) && $_POST['token'] === (getenv('WB_TOKEN') ?: 'tok-1');
    }

    $admin = json_decode((string) getenv('WB_ADMIN'), true);
    if ($admin) {
        $_SESSION['adminid'] = (int) $admin['id'];
    }
    if (getenv('WB_TAB')) {
        $_GET['tab'] = getenv('WB_TAB');
    }
    $post = json_decode((string) getenv('WB_POST'), true);
    $_SERVER['REQUEST_METHOD'] = $post ? 'POST' : 'GET';
    $_POST = $post ?: [];

    require __DIR__ . '/../../hooks/addon/whmcs_bridge/whmcs_bridge.php';

    $call = getenv('WB_CALL');
    if ($call) {
        echo json_encode(call_user_func('whmcs_bridge_' . $call));
        exit(0);
    }
    whmcs_bridge_output([
        'modulelink' => 'addonmodules.php?module=whmcs_bridge',
        'serve_url' => (string) getenv('WB_SERVE_URL'),
        'secret' => (string) getenv('WB_SECRET'),
        'version' => '1.0',
    ]);
}
