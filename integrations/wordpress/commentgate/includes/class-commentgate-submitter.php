<?php
/**
 * New comments go to CommentGate and wait as pending for its decision. When CommentGate cannot be
 * reached the comment stays pending and is queued; a WP-Cron event sends the queue again every
 * few minutes (submissions are idempotent, so a repeat is harmless) until it is empty.
 *
 * @package CommentGate
 */

defined( 'ABSPATH' ) || exit;

/**
 * Submission and the retry queue.
 */
class CommentGate_Submitter {

	const CRON_HOOK     = 'commentgate_retry';
	const CRON_SCHEDULE = 'commentgate_five_minutes';
	const BATCH         = 50;

	/**
	 * Hook into WordPress.
	 */
	public static function register() {
		add_filter( 'pre_comment_approved', array( __CLASS__, 'keep_pending' ), 99, 2 );
		add_action( 'comment_post', array( __CLASS__, 'on_comment_post' ), 10, 2 );
		add_filter( 'cron_schedules', array( __CLASS__, 'add_schedule' ) );
		add_action( self::CRON_HOOK, array( __CLASS__, 'retry' ) );
		add_action( 'init', array( __CLASS__, 'schedule' ) );
	}

	/**
	 * Hold a visitor's comment until CommentGate decides; WordPress's own spam and trash
	 * verdicts (disallowed words) and moderators' own comments are left alone.
	 *
	 * @param int|string|WP_Error $approved    WordPress's verdict so far.
	 * @param array               $commentdata The comment.
	 * @return int|string|WP_Error
	 */
	public static function keep_pending( $approved, $commentdata ) {
		if ( ! CommentGate_Settings::configured() || is_wp_error( $approved ) ) {
			return $approved;
		}
		if ( 'spam' === $approved || 'trash' === $approved || self::by_moderator( $commentdata ) ) {
			return $approved;
		}
		return 0;
	}

	/**
	 * Send a comment that was just stored as pending.
	 *
	 * @param int        $comment_id WordPress comment id.
	 * @param int|string $approved   Its status.
	 */
	public static function on_comment_post( $comment_id, $approved ) {
		if ( CommentGate_Settings::configured() && 0 === (int) $approved && 'spam' !== $approved && 'trash' !== $approved ) {
			self::submit( $comment_id );
		}
	}

	/**
	 * Submit one comment; on failure it joins the retry queue.
	 *
	 * @param int $comment_id WordPress comment id.
	 * @return bool Whether CommentGate has it now.
	 */
	public static function submit( $comment_id ) {
		$comment = get_comment( $comment_id );
		if ( ! $comment ) {
			return false;
		}
		$answer = CommentGate_Client::submit( self::payload( $comment ) );
		if ( ! $answer['ok'] || ! is_array( $answer['body'] ) || empty( $answer['body']['id'] ) ) {
			update_comment_meta( $comment_id, CommentGate_State::META_RETRY, $answer['error'] ? $answer['error'] : 'unreachable' );
			return false;
		}
		delete_comment_meta( $comment_id, CommentGate_State::META_RETRY );
		$body     = $answer['body'];
		$decision = isset( $body['decision'] ) ? $body['decision'] : null;
		$moderated = is_array( get_comment_meta( $comment_id, CommentGate_State::META_DECISION, true ) );
		if ( is_array( $decision ) && ! empty( $decision['action'] ) && ! $moderated && '0' === (string) $comment->comment_approved ) {
			CommentGate_State::apply( $comment_id, $decision['action'] );
		}
		CommentGate_State::remember( $comment_id, $body['id'], $decision );
		CommentGate_Feedback::send_unsent( $comment_id );
		return true;
	}

	/**
	 * Send the queue again (the WP-Cron event); stops at the first failure, since CommentGate is
	 * still unreachable then, and the next run tries again.
	 *
	 * @return int How many comments were sent.
	 */
	public static function retry() {
		if ( ! CommentGate_Settings::configured() ) {
			return 0;
		}
		$ids  = get_comments(
			array(
				'meta_key' => CommentGate_State::META_RETRY, // phpcs:ignore WordPress.DB.SlowDBQuery.slow_db_query_meta_key
				'status'   => 'any',
				'fields'   => 'ids',
				'number'   => self::BATCH,
				'orderby'  => 'comment_ID',
				'order'    => 'ASC',
			)
		);
		$sent = 0;
		foreach ( $ids as $comment_id ) {
			if ( ! self::submit( $comment_id ) ) {
				break;
			}
			++$sent;
		}
		return $sent;
	}

	/**
	 * How many comments wait to be sent.
	 *
	 * @return int
	 */
	public static function queued() {
		return (int) get_comments(
			array(
				'meta_key' => CommentGate_State::META_RETRY, // phpcs:ignore WordPress.DB.SlowDBQuery.slow_db_query_meta_key
				'status'   => 'any',
				'count'    => true,
			)
		);
	}

	/**
	 * The body of POST /v1/comments for a WordPress comment.
	 *
	 * @param WP_Comment $comment The comment.
	 * @return array
	 */
	public static function payload( $comment ) {
		$post_id = (int) $comment->comment_post_ID;
		$payload = array(
			'external_id' => (string) $comment->comment_ID,
			'content'     => $comment->comment_content,
			'post'        => array(
				'id'    => (string) $post_id,
				'url'   => get_permalink( $post_id ),
				'title' => get_the_title( $post_id ),
			),
			'author'      => array(
				'name'       => $comment->comment_author,
				'email'      => self::or_null( $comment->comment_author_email ),
				'url'        => self::or_null( $comment->comment_author_url ),
				'ip'         => self::or_null( $comment->comment_author_IP ),
				'user_agent' => self::or_null( $comment->comment_agent ),
			),
			'created_at'  => gmdate( 'Y-m-d\TH:i:s\Z', strtotime( $comment->comment_date_gmt . ' +0000' ) ),
		);
		if ( (int) $comment->comment_parent > 0 ) {
			$payload['parent_external_id'] = (string) $comment->comment_parent;
		}
		return $payload;
	}

	/**
	 * A five-minute WP-Cron schedule.
	 *
	 * @param array $schedules WordPress's schedules.
	 * @return array
	 */
	public static function add_schedule( $schedules ) {
		$schedules[ self::CRON_SCHEDULE ] = array(
			'interval' => 5 * MINUTE_IN_SECONDS,
			'display'  => __( 'Every five minutes', 'commentgate' ),
		);
		return $schedules;
	}

	/**
	 * Schedule the retry event, once.
	 */
	public static function schedule() {
		if ( ! wp_next_scheduled( self::CRON_HOOK ) ) {
			wp_schedule_event( time() + 5 * MINUTE_IN_SECONDS, self::CRON_SCHEDULE, self::CRON_HOOK );
		}
	}

	/**
	 * Remove the retry event (deactivation).
	 */
	public static function unschedule() {
		wp_clear_scheduled_hook( self::CRON_HOOK );
	}

	/**
	 * Whether the comment comes from a logged-in user who moderates comments.
	 *
	 * @param array $commentdata The comment.
	 * @return bool
	 */
	private static function by_moderator( $commentdata ) {
		$user_id = isset( $commentdata['user_id'] ) ? (int) $commentdata['user_id'] : 0;
		return $user_id > 0 && user_can( $user_id, 'moderate_comments' );
	}

	/**
	 * Empty strings as null (CommentGate validates e-mails, URLs and addresses).
	 *
	 * @param string $value A comment field.
	 * @return string|null
	 */
	private static function or_null( $value ) {
		return '' === (string) $value ? null : (string) $value;
	}
}
