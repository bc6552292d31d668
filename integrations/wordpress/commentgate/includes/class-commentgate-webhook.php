<?php
/**
 * CommentGate's comment.decided webhook, at /wp-json/commentgate/v1/webhook (and
 * ?rest_route=/commentgate/v1/webhook without pretty permalinks).
 *
 * The route is public, so the request proves itself: a Standard Webhooks signature (HMAC-SHA256
 * over "id.timestamp.body" with the site's webhook secret) checked in the permission callback,
 * a timestamp within five minutes, and a webhook-id not seen before.
 *
 * @package CommentGate
 */

defined( 'ABSPATH' ) || exit;

/**
 * The REST route, the signature check and applying a decision.
 */
class CommentGate_Webhook {

	const REST_NAMESPACE = 'commentgate/v1';
	const ROUTE          = '/webhook';
	const TOLERANCE      = 300;
	const SEEN_PREFIX    = 'commentgate_wh_';

	/**
	 * Hook into WordPress.
	 */
	public static function register() {
		add_action( 'rest_api_init', array( __CLASS__, 'register_route' ) );
	}

	/**
	 * The route.
	 */
	public static function register_route() {
		register_rest_route(
			self::REST_NAMESPACE,
			self::ROUTE,
			array(
				'methods'             => 'POST',
				'callback'            => array( __CLASS__, 'receive' ),
				'permission_callback' => array( __CLASS__, 'verify' ),
			)
		);
	}

	/**
	 * The URL to give CommentGate as the site's webhook URL.
	 *
	 * @return string
	 */
	public static function url() {
		return rest_url( self::REST_NAMESPACE . self::ROUTE );
	}

	/**
	 * Permission callback: only a correctly signed, fresh request gets through.
	 *
	 * @param WP_REST_Request $request The request.
	 * @return true|WP_Error
	 */
	public static function verify( $request ) {
		$problem = self::signature_problem(
			(string) $request->get_header( 'webhook-id' ),
			(string) $request->get_header( 'webhook-timestamp' ),
			(string) $request->get_header( 'webhook-signature' ),
			$request->get_body(),
			CommentGate_Settings::get( 'webhook_secret' ),
			time()
		);
		if ( null !== $problem ) {
			return new WP_Error( 'commentgate_unverified', $problem, array( 'status' => 401 ) );
		}
		return true;
	}

	/**
	 * Why a request is not a valid webhook, or null when it is.
	 *
	 * @param string $id        webhook-id header.
	 * @param string $timestamp webhook-timestamp header (Unix seconds).
	 * @param string $header    webhook-signature header: space-separated "v1,BASE64" entries.
	 * @param string $body      The raw body.
	 * @param string $secret    The site's secret, "whsec_" and base64.
	 * @param int    $now       The current time.
	 * @return string|null
	 */
	public static function signature_problem( $id, $timestamp, $header, $body, $secret, $now ) {
		if ( '' === $secret ) {
			return 'The webhook secret is not configured.';
		}
		if ( '' === $id || '' === $header || ! ctype_digit( $timestamp ) ) {
			return 'Missing webhook headers.';
		}
		if ( abs( $now - (int) $timestamp ) > self::TOLERANCE ) {
			return 'The webhook timestamp is too old or too new.';
		}
		$key = base64_decode( preg_replace( '/^whsec_/', '', $secret ), true ); // phpcs:ignore WordPress.PHP.DiscouragedPHPFunctions.obfuscation_base64_decode
		if ( false === $key ) {
			return 'The webhook secret is not valid base64.';
		}
		$expected = base64_encode( hash_hmac( 'sha256', $id . '.' . $timestamp . '.' . $body, $key, true ) ); // phpcs:ignore WordPress.PHP.DiscouragedPHPFunctions.obfuscation_base64_encode
		foreach ( preg_split( '/\s+/', trim( $header ) ) as $entry ) {
			$parts = explode( ',', $entry, 2 );
			if ( 2 === count( $parts ) && 'v1' === $parts[0] && hash_equals( $expected, $parts[1] ) ) {
				return null;
			}
		}
		return 'No valid signature.';
	}

	/**
	 * Apply a verified event; a webhook-id seen before changes nothing (a replay, or a retry
	 * whose first answer was lost) and is answered 200 so CommentGate stops retrying it.
	 *
	 * @param WP_REST_Request $request The request.
	 * @return WP_REST_Response|WP_Error
	 */
	public static function receive( $request ) {
		$seen = self::SEEN_PREFIX . md5( (string) $request->get_header( 'webhook-id' ) );
		if ( get_transient( $seen ) ) {
			return new WP_REST_Response( array( 'result' => 'duplicate' ), 200 );
		}
		set_transient( $seen, 1, 2 * self::TOLERANCE );

		$event = json_decode( $request->get_body(), true );
		if ( ! is_array( $event ) || ! isset( $event['type'], $event['data'] ) || ! is_array( $event['data'] ) ) {
			return new WP_Error( 'commentgate_bad_event', 'Not a CommentGate event.', array( 'status' => 400 ) );
		}
		if ( 'comment.decided' !== $event['type'] ) {
			return new WP_REST_Response( array( 'result' => 'ignored' ), 200 );
		}
		return new WP_REST_Response( array( 'result' => self::decided( $event['data'] ) ), 200 );
	}

	/**
	 * Follow a comment.decided event, unless a newer decision was already followed.
	 *
	 * @param array $data The event's data.
	 * @return string What was done.
	 */
	private static function decided( $data ) {
		$comment_id = isset( $data['external_id'] ) ? absint( $data['external_id'] ) : 0;
		$comment    = $comment_id ? get_comment( $comment_id ) : null;
		if ( ! $comment || empty( $data['comment_id'] ) || empty( $data['action'] ) ) {
			return 'unknown comment';
		}
		$known = get_comment_meta( $comment_id, CommentGate_State::META_ID, true );
		if ( '' !== $known && $known !== $data['comment_id'] ) {
			return 'unknown comment';
		}
		if ( ! empty( $data['decided_at'] ) && CommentGate_State::is_stale( $comment_id, $data['decided_at'] ) ) {
			return 'stale';
		}
		$changed = CommentGate_State::apply( $comment_id, (string) $data['action'] );
		CommentGate_State::remember( $comment_id, $data['comment_id'], $data );
		delete_comment_meta( $comment_id, CommentGate_State::META_RETRY );
		return $changed ? 'applied' : 'unchanged';
	}
}
