<?php
/**
 * Deleting the plugin removes its settings and its retry event; comments keep their meta (the
 * decisions and reasons CommentGate gave), which WordPress shows nowhere else.
 *
 * @package CommentGate
 */

defined( 'WP_UNINSTALL_PLUGIN' ) || exit;

delete_option( 'commentgate_settings' );
wp_clear_scheduled_hook( 'commentgate_retry' );
