<?php
/**
 * Plugin Name: CommentGate
 * Description: Moderates comments with a self-hosted CommentGate service: new comments wait as pending until CommentGate's signed webhook approves, holds or rejects them, and moderators' decisions in wp-admin go back to CommentGate as training labels.
 * Version: 1.0.0
 * Requires at least: 6.0
 * Requires PHP: 7.4
 * License: Apache-2.0
 * Text Domain: commentgate
 *
 * @package CommentGate
 */

defined( 'ABSPATH' ) || exit;

define( 'COMMENTGATE_PLUGIN_FILE', __FILE__ );

require_once __DIR__ . '/includes/class-commentgate-settings.php';
require_once __DIR__ . '/includes/class-commentgate-client.php';
require_once __DIR__ . '/includes/class-commentgate-state.php';
require_once __DIR__ . '/includes/class-commentgate-submitter.php';
require_once __DIR__ . '/includes/class-commentgate-webhook.php';
require_once __DIR__ . '/includes/class-commentgate-feedback.php';
require_once __DIR__ . '/includes/class-commentgate-admin.php';

CommentGate_Submitter::register();
CommentGate_Webhook::register();
CommentGate_Feedback::register();
CommentGate_Admin::register();

register_activation_hook( __FILE__, array( 'CommentGate_Submitter', 'schedule' ) );
register_deactivation_hook( __FILE__, array( 'CommentGate_Submitter', 'unschedule' ) );
