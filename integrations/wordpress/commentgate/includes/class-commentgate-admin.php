<?php
/**
 * wp-admin: Settings → CommentGate (with a connection test) and a CommentGate column in the
 * comment list showing the decision and its reasons.
 *
 * @package CommentGate
 */

defined( 'ABSPATH' ) || exit;

/**
 * The settings page and the comment list column.
 */
class CommentGate_Admin {

	const PAGE        = 'commentgate';
	const TEST_ACTION = 'commentgate_test';

	/**
	 * Hook into WordPress.
	 */
	public static function register() {
		add_action( 'admin_menu', array( __CLASS__, 'add_page' ) );
		add_action( 'admin_init', array( __CLASS__, 'register_setting' ) );
		add_action( 'admin_post_' . self::TEST_ACTION, array( __CLASS__, 'test_connection' ) );
		add_filter( 'manage_edit-comments_columns', array( __CLASS__, 'add_column' ) );
		add_action( 'manage_comments_custom_column', array( __CLASS__, 'render_column' ), 10, 2 );
	}

	/**
	 * Settings → CommentGate.
	 */
	public static function add_page() {
		add_options_page( 'CommentGate', 'CommentGate', 'manage_options', self::PAGE, array( __CLASS__, 'render_page' ) );
	}

	/**
	 * The option behind the page.
	 */
	public static function register_setting() {
		register_setting(
			self::PAGE,
			CommentGate_Settings::OPTION,
			array(
				'type'              => 'array',
				'sanitize_callback' => array( 'CommentGate_Settings', 'sanitize' ),
			)
		);
	}

	/**
	 * The settings page.
	 */
	public static function render_page() {
		if ( ! current_user_can( 'manage_options' ) ) {
			return;
		}
		$fields = array(
			'url'            => array( __( 'CommentGate URL', 'commentgate' ), 'url', 'https://moderation.example.org' ),
			'api_key'        => array( __( 'Site API key', 'commentgate' ), 'password', 'cg_…' ),
			'webhook_secret' => array( __( 'Webhook secret', 'commentgate' ), 'password', 'whsec_…' ),
		);
		?>
		<div class="wrap">
			<h1><?php esc_html_e( 'CommentGate', 'commentgate' ); ?></h1>
			<?php self::render_test_result(); ?>
			<p>
				<?php esc_html_e( 'Webhook URL to give CommentGate (sites create --webhook-url, or sites set-webhook-url):', 'commentgate' ); ?>
				<code id="commentgate-webhook-url"><?php echo esc_html( CommentGate_Webhook::url() ); ?></code>
			</p>
			<form method="post" action="options.php">
				<?php settings_fields( self::PAGE ); ?>
				<table class="form-table" role="presentation">
					<?php foreach ( $fields as $name => $field ) : ?>
						<?php $locked = CommentGate_Settings::from_constant( $name ); ?>
						<tr>
							<th scope="row"><label for="commentgate-<?php echo esc_attr( $name ); ?>"><?php echo esc_html( $field[0] ); ?></label></th>
							<td>
								<?php if ( $locked ) : ?>
									<code><?php echo esc_html( CommentGate_Settings::CONSTANTS[ $name ] ); ?></code>
									<?php esc_html_e( 'is set in wp-config.php.', 'commentgate' ); ?>
								<?php else : ?>
									<?php
									$secret = in_array( $name, CommentGate_Settings::SECRETS, true );
									$value  = CommentGate_Settings::get( $name );
									$hint   = $secret && '' !== $value ? __( 'Saved; leave empty to keep it', 'commentgate' ) : $field[2];
									?>
									<input type="<?php echo esc_attr( $field[1] ); ?>" class="regular-text" autocomplete="off"
										id="commentgate-<?php echo esc_attr( $name ); ?>"
										name="<?php echo esc_attr( CommentGate_Settings::OPTION . '[' . $name . ']' ); ?>"
										value="<?php echo esc_attr( $secret ? '' : $value ); ?>"
										placeholder="<?php echo esc_attr( $hint ); ?>">
								<?php endif; ?>
							</td>
						</tr>
					<?php endforeach; ?>
				</table>
				<?php submit_button(); ?>
			</form>
			<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>">
				<input type="hidden" name="action" value="<?php echo esc_attr( self::TEST_ACTION ); ?>">
				<?php wp_nonce_field( self::TEST_ACTION ); ?>
				<?php submit_button( __( 'Test the connection', 'commentgate' ), 'secondary', 'commentgate-test', false ); ?>
			</form>
			<p>
				<?php
				/* translators: %d: number of comments waiting to be sent. */
				echo esc_html( sprintf( __( 'Comments waiting to be sent to CommentGate: %d.', 'commentgate' ), CommentGate_Submitter::queued() ) );
				?>
			</p>
		</div>
		<?php
	}

	/**
	 * The connection test: /healthz (reachable) and an authenticated call (the key is valid:
	 * an unknown comment is a 404, a wrong key a 401).
	 */
	public static function test_connection() {
		if ( ! current_user_can( 'manage_options' ) ) {
			wp_die( esc_html__( 'You may not change these settings.', 'commentgate' ), 403 );
		}
		check_admin_referer( self::TEST_ACTION );
		$lines  = array();
		$health = CommentGate_Client::request( 'GET', '/healthz', null, false );
		$lines[] = array( $health['ok'], $health['ok'] ? __( 'CommentGate answers.', 'commentgate' ) : __( 'CommentGate cannot be reached: ', 'commentgate' ) . $health['error'] );
		if ( $health['ok'] ) {
			$probe   = CommentGate_Client::request( 'GET', '/v1/comments/connection-test' );
			$key_ok  = 404 === $probe['status'];
			$lines[] = array( $key_ok, $key_ok ? __( 'The API key is valid.', 'commentgate' ) : __( 'The API key was refused: ', 'commentgate' ) . $probe['error'] );
		}
		$secret  = CommentGate_Settings::get( 'webhook_secret' );
		$lines[] = array( 0 === strpos( $secret, 'whsec_' ), 0 === strpos( $secret, 'whsec_' ) ? __( 'A webhook secret is set.', 'commentgate' ) : __( 'The webhook secret is missing (it starts with whsec_).', 'commentgate' ) );
		set_transient( 'commentgate_test_' . get_current_user_id(), $lines, MINUTE_IN_SECONDS );
		wp_safe_redirect( admin_url( 'options-general.php?page=' . self::PAGE ) );
		exit;
	}

	/**
	 * The last connection test's outcome, once.
	 */
	private static function render_test_result() {
		$key   = 'commentgate_test_' . get_current_user_id();
		$lines = get_transient( $key );
		if ( ! is_array( $lines ) ) {
			return;
		}
		delete_transient( $key );
		foreach ( $lines as $line ) {
			printf(
				'<div class="notice %s commentgate-test-result"><p>%s</p></div>',
				esc_attr( $line[0] ? 'notice-success' : 'notice-error' ),
				esc_html( $line[1] )
			);
		}
	}

	/**
	 * The comment list's CommentGate column.
	 *
	 * @param array $columns The list's columns.
	 * @return array
	 */
	public static function add_column( $columns ) {
		$columns['commentgate'] = __( 'CommentGate', 'commentgate' );
		return $columns;
	}

	/**
	 * A comment's decision and reasons, or why there is none yet.
	 *
	 * @param string $column     Column name.
	 * @param int    $comment_id WordPress comment id.
	 */
	public static function render_column( $column, $comment_id ) {
		if ( 'commentgate' !== $column ) {
			return;
		}
		$action = get_comment_meta( $comment_id, CommentGate_State::META_ACTION, true );
		if ( '' === $action ) {
			$waiting = get_comment_meta( $comment_id, CommentGate_State::META_RETRY, true );
			$known   = get_comment_meta( $comment_id, CommentGate_State::META_ID, true );
			$text    = '' !== $waiting ? __( 'Not sent yet (CommentGate unreachable); retried every five minutes.', 'commentgate' ) : ( '' !== $known ? __( 'Waiting for a decision.', 'commentgate' ) : '—' );
			echo '<span class="commentgate-waiting">' . esc_html( $text ) . '</span>';
			return;
		}
		$by = get_comment_meta( $comment_id, CommentGate_State::META_DECIDED_BY, true );
		echo '<strong class="commentgate-action">' . esc_html( $action ) . '</strong>';
		if ( '' !== $by ) {
			/* translators: %s: who decided (model, rule or moderator). */
			echo ' <span class="commentgate-by">' . esc_html( sprintf( __( 'by %s', 'commentgate' ), $by ) ) . '</span>';
		}
		$reasons = get_comment_meta( $comment_id, CommentGate_State::META_REASONS, true );
		if ( is_array( $reasons ) && $reasons ) {
			echo '<ul class="commentgate-reasons">';
			foreach ( $reasons as $reason ) {
				printf( '<li><code>%s</code> %s</li>', esc_html( $reason['code'] ), esc_html( $reason['message'] ) );
			}
			echo '</ul>';
		}
	}
}
