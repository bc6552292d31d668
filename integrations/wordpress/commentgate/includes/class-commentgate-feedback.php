<?php
/**
 * A moderator's Approve, Spam, Not Spam or Trash in wp-admin goes to CommentGate as a decision
 * with a training label, so both queues agree. Changes the plugin makes itself (following a
 * webhook) are not sent back.
 *
 * | wp-admin                 | CommentGate decision | label                          |
 * | Approve                  | approve              | ok                             |
 * | Not Spam                 | approve              | ham                            |
 * | Spam                     | reject               | spam                           |
 * | Trash                    | reject               | (CommentGate's higher score)   |
 *
 * @package CommentGate
 */

defined( 'ABSPATH' ) || exit;

/**
 * Moderators' decisions, sent back.
 */
class CommentGate_Feedback {

	/**
	 * Hook into WordPress.
	 */
	public static function register() {
		add_action( 'transition_comment_status', array( __CLASS__, 'on_transition' ), 10, 3 );
	}

	/**
	 * A comment changed status in WordPress.
	 *
	 * @param string     $new_status New status (approved, unapproved, spam, trash).
	 * @param string     $old_status Old status.
	 * @param WP_Comment $comment    The comment.
	 */
	public static function on_transition( $new_status, $old_status, $comment ) {
		if ( CommentGate_State::$applying || ! CommentGate_Settings::configured() ) {
			return;
		}
		if ( ! current_user_can( 'moderate_comments' ) ) {
			return;
		}
		$decision = self::decision_for( $new_status, $old_status );
		if ( null === $decision ) {
			return;
		}
		$comment_id = (int) $comment->comment_ID;
		$known      = '' !== get_comment_meta( $comment_id, CommentGate_State::META_ID, true );
		if ( ! $known && '' === get_comment_meta( $comment_id, CommentGate_State::META_RETRY, true ) ) {
			return; // Never sent to CommentGate (older than the plugin, or a moderator's own).
		}
		$decision['moderator'] = wp_get_current_user()->user_login;
		update_comment_meta( $comment_id, CommentGate_State::META_DECISION, $decision );
		self::send_unsent( $comment_id );
	}

	/**
	 * Send the comment's decision that has not reached CommentGate yet: now, or after the
	 * comment itself was submitted (by the retry event, when CommentGate was unreachable).
	 *
	 * @param int $comment_id WordPress comment id.
	 * @return bool Whether nothing is left to send.
	 */
	public static function send_unsent( $comment_id ) {
		$decision       = get_comment_meta( $comment_id, CommentGate_State::META_DECISION, true );
		$commentgate_id = get_comment_meta( $comment_id, CommentGate_State::META_ID, true );
		if ( ! is_array( $decision ) ) {
			return true;
		}
		if ( '' === $commentgate_id ) {
			update_comment_meta( $comment_id, CommentGate_State::META_RETRY, 'not submitted yet' );
			return false;
		}
		$answer = CommentGate_Client::decide( $commentgate_id, $decision['action'], $decision['label'], $decision['moderator'] );
		if ( ! $answer['ok'] ) {
			if ( $answer['status'] >= 400 && $answer['status'] < 500 && 429 !== $answer['status'] ) {
				delete_comment_meta( $comment_id, CommentGate_State::META_DECISION );
				return true;
			}
			update_comment_meta( $comment_id, CommentGate_State::META_RETRY, $answer['error'] );
			return false;
		}
		delete_comment_meta( $comment_id, CommentGate_State::META_DECISION );
		$body = $answer['body'];
		if ( is_array( $body ) && isset( $body['id'] ) ) {
			CommentGate_State::remember( $comment_id, $body['id'], isset( $body['decision'] ) ? $body['decision'] : null );
		}
		return true;
	}

	/**
	 * The CommentGate decision a status change means, or null for changes that decide nothing
	 * (unapproving an approved comment, restoring from the trash).
	 *
	 * @param string $new_status New status.
	 * @param string $old_status Old status.
	 * @return array|null
	 */
	private static function decision_for( $new_status, $old_status ) {
		if ( 'approved' === $new_status ) {
			return array(
				'action' => 'approve',
				'label'  => 'spam' === $old_status ? 'ham' : 'ok',
			);
		}
		if ( 'unapproved' === $new_status && 'spam' === $old_status ) {
			return array(
				'action' => 'approve',
				'label'  => 'ham',
			);
		}
		if ( 'spam' === $new_status ) {
			return array(
				'action' => 'reject',
				'label'  => 'spam',
			);
		}
		if ( 'trash' === $new_status ) {
			return array(
				'action' => 'reject',
				'label'  => null,
			);
		}
		return null;
	}
}
