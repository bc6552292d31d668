<?php
/**
 * CommentGate's HTTP API, as the plugin uses it: submit a comment, send a moderator's decision,
 * check the connection. Every call answers an array, never throws: an unreachable service is
 * an ordinary outcome the callers queue for later.
 *
 * @package CommentGate
 */

defined( 'ABSPATH' ) || exit;

/**
 * A thin client over wp_remote_request().
 */
class CommentGate_Client {

	const TIMEOUT = 5;

	/**
	 * One request to CommentGate.
	 *
	 * @param string     $method HTTP method.
	 * @param string     $path   Path below the base URL, starting with "/".
	 * @param array|null $body   JSON body, if any.
	 * @param bool       $auth   Whether to send the site API key.
	 * @return array { ok: bool, status: int, body: mixed, error: string }
	 */
	public static function request( $method, $path, $body = null, $auth = true ) {
		$headers = array( 'Accept' => 'application/json' );
		if ( $auth ) {
			$headers['Authorization'] = 'Bearer ' . CommentGate_Settings::get( 'api_key' );
		}
		$args = array(
			'method'      => $method,
			'timeout'     => self::TIMEOUT,
			'redirection' => 0,
			'headers'     => $headers,
		);
		if ( null !== $body ) {
			$args['headers']['Content-Type'] = 'application/json';
			$args['body']                    = wp_json_encode( $body );
		}
		$response = wp_remote_request( CommentGate_Settings::url() . $path, $args );
		if ( is_wp_error( $response ) ) {
			return array(
				'ok'     => false,
				'status' => 0,
				'body'   => null,
				'error'  => $response->get_error_message(),
			);
		}
		$status = (int) wp_remote_retrieve_response_code( $response );
		$raw    = wp_remote_retrieve_body( $response );
		$parsed = json_decode( $raw, true );
		return array(
			'ok'     => $status >= 200 && $status < 300,
			'status' => $status,
			'body'   => null === $parsed ? $raw : $parsed,
			'error'  => $status >= 200 && $status < 300 ? '' : self::error_message( $status, $parsed ),
		);
	}

	/**
	 * Submit a comment (idempotent by external_id: a second submission answers the first).
	 *
	 * @param array $payload The body of POST /v1/comments.
	 * @return array
	 */
	public static function submit( $payload ) {
		return self::request( 'POST', '/v1/comments', $payload );
	}

	/**
	 * A decision made by a moderator in wp-admin.
	 *
	 * @param string      $commentgate_id CommentGate's id of the comment.
	 * @param string      $action         approve or reject.
	 * @param string|null $label          spam, ham, toxic or ok; null lets CommentGate choose.
	 * @param string      $moderator      The moderator's login, for CommentGate's audit log.
	 * @return array
	 */
	public static function decide( $commentgate_id, $action, $label, $moderator ) {
		$body = array(
			'action'    => $action,
			'moderator' => $moderator,
		);
		if ( null !== $label ) {
			$body['label'] = $label;
		}
		return self::request( 'POST', '/v1/comments/' . rawurlencode( $commentgate_id ) . '/decision', $body );
	}

	/**
	 * CommentGate's error message, or the status code.
	 *
	 * @param int   $status HTTP status.
	 * @param mixed $parsed The decoded body.
	 * @return string
	 */
	private static function error_message( $status, $parsed ) {
		if ( is_array( $parsed ) && isset( $parsed['error']['message'] ) ) {
			return sprintf( 'HTTP %d: %s', $status, $parsed['error']['message'] );
		}
		return sprintf( 'HTTP %d', $status );
	}
}
