"""Comment texts the seed-trained model scores far apart, and thresholds that make it act on
spam alone: approved below 0.3, rejected from 0.6; toxicity stays out of the way."""

from __future__ import annotations

HAM = "Thanks for the thoughtful article. The part on local history reminded me of my grandmother."
SPAM = "Buy cheap viagra online now!!! Best casino bonus, click http://cheap-pills.example"
MORE_SPAM = "Cheap casino bonus!!! Buy viagra pills online now, best price at http://pills.example"
SPAM_THRESHOLDS = {
    "spam": {"approve_below": 0.3, "reject_at": 0.6},
    "toxicity": {"approve_below": 0.99, "reject_at": 0.999},
}
