//! Mail texts. Every link or secret stands on a line of its own (cli.md),
//! so a reader — or a test — can pick it out.

use chrono::{DateTime, Utc};

use super::{Kind, Mail};

/// The accept link of an invitation.
pub fn accept_link(public_url: &str, token: &str) -> String {
    format!("{public_url}/invitations/accept?token={token}")
}

pub struct Invitation<'a> {
    pub to: &'a str,
    pub org_name: &'a str,
    pub org_handle: &'a str,
    pub role: &'a str,
    pub link: &'a str,
    pub expires_at: DateTime<Utc>,
    pub reminder: bool,
}

pub fn invitation(i: Invitation<'_>) -> Mail {
    let subject = if i.reminder {
        format!(
            "Reminder: you are invited to join {} on orgraph",
            i.org_name
        )
    } else {
        format!("You are invited to join {} on orgraph", i.org_name)
    };
    let text = format!(
        "You have been invited to join the organization {} ({}) as {}.\n\n\
         To accept, open this link:\n\n{}\n\n\
         The invitation expires on {} UTC. If you did not expect it, ignore this mail.\n",
        i.org_name,
        i.org_handle,
        i.role,
        i.link,
        i.expires_at.format("%Y-%m-%d %H:%M"),
    );
    Mail {
        kind: Kind::Invitation,
        to: i.to.to_string(),
        subject,
        text,
        html: None,
    }
}

pub fn message(to: &str, org_name: &str, subject: &str, body: &str) -> Mail {
    Mail {
        kind: Kind::Message,
        to: to.to_string(),
        subject: format!("[{org_name}] {subject}"),
        text: format!("{body}\n\n-- \nSent to the members of {org_name} through orgraph.\n"),
        html: None,
    }
}

pub fn welcome(to: &str, org_name: &str, public_url: &str) -> Mail {
    Mail {
        kind: Kind::Welcome,
        to: to.to_string(),
        subject: format!("Welcome to {org_name} on orgraph"),
        text: format!(
            "You have been added to the organization {org_name} and given a seat.\n\n\
             Your access token comes in a separate mail. The service is at:\n\n{public_url}\n"
        ),
        html: None,
    }
}

pub fn access_token(to: &str, org_name: &str, secret: &str, expires_at: DateTime<Utc>) -> Mail {
    Mail {
        kind: Kind::AccessToken,
        to: to.to_string(),
        subject: format!("Your access token for {org_name}"),
        text: format!(
            "Here is your access token for {org_name}. Keep it secret; it is shown only here.\n\n\
             {secret}\n\nIt expires on {} UTC.\n",
            expires_at.format("%Y-%m-%d %H:%M")
        ),
        html: None,
    }
}

pub fn members_added(to: &str, org_name: &str, emails: &[String]) -> Mail {
    let mut list = String::new();
    for e in emails {
        list.push_str("- ");
        list.push_str(e);
        list.push('\n');
    }
    Mail {
        kind: Kind::MembersAdded,
        to: to.to_string(),
        subject: format!("{} users added to {org_name}", emails.len()),
        text: format!(
            "These users were onboarded into {org_name} (account, seat and access token):\n\n{list}"
        ),
        html: None,
    }
}

pub fn seat_assigned(to: &str, org_name: &str, public_url: &str) -> Mail {
    Mail {
        kind: Kind::SeatAssigned,
        to: to.to_string(),
        subject: format!("You have a seat in {org_name}"),
        text: format!(
            "An administrator of {org_name} assigned you a seat. You can now create an access token at:\n\n{public_url}\n"
        ),
        html: None,
    }
}
