<?php
/**
 * Where CommentGate is and how to talk to it: constants in wp-config.php win over the settings page,
 * so a site managed in code never shows a secret in the database.
 *
 * @package CommentGate
 */

defined( 'ABSPATH' ) || exit;

/**
 * The plugin's three settings.
 */
class CommentGate_Settings {

	const OPTION = 'commentgate_settings';

	/**
	 * Setting name => the wp-config.php constant that overrides it.
	 */
	const CONSTANTS = array(
		'url'            => 'COMMENTGATE_URL',
		'api_key'        => 'COMMENTGATE_API_KEY',
		'webhook_secret' => 'COMMENTGATE_WEBHOOK_SECRET',
	);

	/**
	 * Settings the page never shows once saved.
	 */
	const SECRETS = array( 'api_key', 'webhook_secret' );

	/**
	 * One setting's value, from its constant when defined, else from the settings page.
	 *
	 * @param string $name One of the keys of CONSTANTS.
	 * @return string
	 */
	public static function get( $name ) {
		if ( self::from_constant( $name ) ) {
			return trim( (string) constant( self::CONSTANTS[ $name ] ) );
		}
		$stored = get_option( self::OPTION, array() );
		return is_array( $stored ) && isset( $stored[ $name ] ) ? trim( (string) $stored[ $name ] ) : '';
	}

	/**
	 * Whether wp-config.php sets this one (the settings page then shows it read-only).
	 *
	 * @param string $name One of the keys of CONSTANTS.
	 * @return bool
	 */
	public static function from_constant( $name ) {
		return isset( self::CONSTANTS[ $name ] ) && defined( self::CONSTANTS[ $name ] );
	}

	/**
	 * CommentGate's base URL, without a trailing slash.
	 *
	 * @return string
	 */
	public static function url() {
		return untrailingslashit( self::get( 'url' ) );
	}

	/**
	 * Whether comments can be sent at all: a URL and an API key.
	 *
	 * @return bool
	 */
	public static function configured() {
		return '' !== self::url() && '' !== self::get( 'api_key' );
	}

	/**
	 * Clean what the settings page sends; a field set by a constant keeps its stored value.
	 *
	 * @param mixed $input The submitted values.
	 * @return array
	 */
	public static function sanitize( $input ) {
		$input  = is_array( $input ) ? $input : array();
		$stored = get_option( self::OPTION, array() );
		$clean  = is_array( $stored ) ? $stored : array();
		if ( isset( $input['url'] ) ) {
			$clean['url'] = esc_url_raw( trim( wp_unslash( $input['url'] ) ), array( 'http', 'https' ) );
		}
		foreach ( self::SECRETS as $name ) {
			$value = isset( $input[ $name ] ) ? sanitize_text_field( wp_unslash( $input[ $name ] ) ) : '';
			if ( '' !== $value ) {
				$clean[ $name ] = $value; // An empty field keeps the stored secret: the page never shows it.
			}
		}
		return $clean;
	}
}
