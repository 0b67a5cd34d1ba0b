"""What customers say that is not an objection, in any domain: greetings, thanks, agreement, plain questions, small
talk and logistics. The offline engine files a sentence as an objection only when it is closer to the playbook's
objection examples than to these (and to the playbook's own `not_objections`), and the learner trains on them as
negatives until the user's labels say more. Kept domain-neutral on purpose: a playbook adds its own."""

from __future__ import annotations

from winloss.pipeline.playbook import Playbook


def not_objections(playbook: Playbook) -> list[str]:
    """Everything the objection tracker compares against as "not an objection": this list and the playbook's own."""
    return [*NOT_OBJECTIONS, *playbook.not_objections]


NOT_OBJECTIONS = [
    # greetings and small talk
    "Hi, how are you doing today?",
    "Hello, thanks for getting back to me.",
    "Nice to meet you.",
    "The weather has been lovely this week.",
    "Sorry, I was just finishing another call.",
    # thanks and goodbyes
    "Thank you so much.",
    "Thanks for your time, have a great day.",
    "Okay, bye for now.",
    # agreement and acceptance
    "Okay, that sounds good.",
    "Yes, that works for me.",
    "Great, let's do it.",
    "Sure, no problem.",
    "That makes sense, I agree.",
    "Deal.",
    "Perfect.",
    # interest
    "I am interested in this.",
    "That sounds great, tell me more.",
    # plain questions
    "Can you tell me more about it?",
    "How does that work?",
    "What is included?",
    "Which option would you recommend?",
    "When would be a good time to talk again?",
    # how things are today: a description, not resistance
    "Right now we handle this with a few different tools.",
    "We currently keep track of it ourselves.",
    "Most of it is done by hand today.",
    "Our team is about twenty people.",
    "It is for my new place.",
    # questions about how it works
    "Is it possible to change that setting ourselves?",
    "Can it send a summary every week?",
    "Could you walk me through how it works?",
    # conditional acceptance
    "That could work, let's put a date in the diary.",
    "If it all checks out, we can move ahead.",
    "Sounds reasonable, send me the proposal.",
    # logistics and next steps
    "I can meet you tomorrow afternoon.",
    "I will send you the details by email.",
    "Let me check my calendar.",
]
