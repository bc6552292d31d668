<?php
/**
 * What CommentGate knows of a WordPress comment (its id, decision, reasons, when it was decided)
 * kept in comment meta, and the one place that changes a comment's status for CommentGate.
 *
 * @package CommentGate
 */

defined( 'ABSPATH' ) || exit;

/**
 * Comment meta and status changes.
 */
class CommentGate_State {

	const META_ID         = '_commentgate_id';
	const META_ACTION     = '_commentgate_action';
	const META_DECIDED_BY = '_commentgate_decided_by';
	const META_REASONS    = '_commentgate_reasons';
	const META_DECIDED_AT = '_commentgate_decided_at';
	const META_RETRY      = '_commentgate_retry';
	const META_DECISION   = '_commentgate_unsent_decision';

	/**
	 * WordPress status for each CommentGate action: a rejected comment goes to the spam folder,
	 * as Akismet's do, where a moderator can still find it ("Not Spam") until WordPress empties
	 * it; nothing is deleted.
	 */
	const STATUS_OF_ACTION = array(
		'approve' => 'approve',
		'hold'    => 'hold',
		'reject'  => 'spam',
	);

	/**
	 * True while the plugin itself changes a status, so the change is not sent back.
	 *
	 * @var bool
	 */
	public static $applying = false;

	/**
	 * Remember CommentGate's answer about a comment (a submission or decision response, or the
	 * data of a comment.decided event).
	 *
	 * @param int        $comment_id     WordPress comment id.
	 * @param string     $commentgate_id CommentGate's comment id.
	 * @param array|null $decision       action, reasons, decided_by, decided_at; null while pending.
	 */
	public static function remember( $comment_id, $commentgate_id, $decision ) {
		update_comment_meta( $comment_id, self::META_ID, sanitize_text_field( $commentgate_id ) );
		if ( ! is_array( $decision ) || empty( $decision['action'] ) ) {
			return;
		}
		update_comment_meta( $comment_id, self::META_ACTION, sanitize_key( $decision['action'] ) );
		update_comment_meta( $comment_id, self::META_DECIDED_BY, sanitize_key( isset( $decision['decided_by'] ) ? $decision['decided_by'] : '' ) );
		update_comment_meta( $comment_id, self::META_REASONS, self::reasons( isset( $decision['reasons'] ) ? $decision['reasons'] : array() ) );
		if ( ! empty( $decision['decided_at'] ) ) {
			update_comment_meta( $comment_id, self::META_DECIDED_AT, sanitize_text_field( $decision['decided_at'] ) );
		}
	}

	/**
	 * Whether a decision is older than the one the comment already follows (a webhook retried
	 * late, or a model decision overtaken by a moderator's).
	 *
	 * @param int    $comment_id WordPress comment id.
	 * @param string $decided_at The decision's ISO 8601 time.
	 * @return bool
	 */
	public static function is_stale( $comment_id, $decided_at ) {
		$known = get_comment_meta( $comment_id, self::META_DECIDED_AT, true );
		return '' !== $known && self::moment( $decided_at ) <= self::moment( $known );
	}

	/**
	 * Put a comment where a CommentGate action says, unless it is there already (a trashed
	 * comment stays in the trash when CommentGate rejects it).
	 *
	 * @param int    $comment_id WordPress comment id.
	 * @param string $action     approve, hold or reject.
	 * @return bool Whether the status changed.
	 */
	public static function apply( $comment_id, $action ) {
		if ( ! isset( self::STATUS_OF_ACTION[ $action ] ) ) {
			return false;
		}
		$current = wp_get_comment_status( $comment_id );
		$already = array(
			'approve' => array( 'approved' ),
			'hold'    => array( 'unapproved' ),
			'reject'  => array( 'spam', 'trash' ),
		);
		if ( in_array( $current, $already[ $action ], true ) ) {
			return false;
		}
		self::$applying = true;
		try {
			return (bool) wp_set_comment_status( $comment_id, self::STATUS_OF_ACTION[ $action ] );
		} finally {
			self::$applying = false;
		}
	}

	/**
	 * Reasons as the comment list shows them: code and message, nothing else.
	 *
	 * @param mixed $reasons CommentGate's reasons.
	 * @return array
	 */
	private static function reasons( $reasons ) {
		$kept = array();
		foreach ( is_array( $reasons ) ? $reasons : array() as $reason ) {
			if ( is_array( $reason ) && isset( $reason['code'] ) ) {
				$kept[] = array(
					'code'    => sanitize_key( $reason['code'] ),
					'message' => sanitize_text_field( isset( $reason['message'] ) ? $reason['message'] : '' ),
				);
			}
		}
		return $kept;
	}

	/**
	 * An ISO 8601 time as Unix seconds with microseconds (decisions can be milliseconds apart);
	 * kept as the ISO text and compared through this, since a float stored as meta is rounded.
	 *
	 * @param string $iso The time.
	 * @return float
	 */
	private static function moment( $iso ) {
		try {
			return (float) ( new DateTimeImmutable( (string) $iso ) )->format( 'U.u' );
		} catch ( Exception $e ) {
			return 0.0;
		}
	}
}
