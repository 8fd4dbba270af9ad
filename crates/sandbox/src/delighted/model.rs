//! Delighted records as the sandbox holds them, and their JSON as REST v1 returns it.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// A person surveyed. Delighted identifies people by email (or phone number).
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// An NPS survey response (`survey_type: "nps"`, score 0 to 10).
#[derive(Debug, Clone, PartialEq)]
pub struct SurveyResponse {
    /// Delighted's ids are numeric strings.
    pub id: String,
    pub person: Person,
    pub score: i64,
    pub comment: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Everything a Delighted account holds, in creation order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DelightedData {
    pub survey_responses: Vec<SurveyResponse>,
}

impl Person {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "email": self.email,
            "phone_number": null,
            "created_at": self.created_at.timestamp(),
            "last_sent_at": self.created_at.timestamp(),
        })
    }
}

impl SurveyResponse {
    /// The response as `GET /v1/survey_responses.json` returns it: `person` is the person's id,
    /// or the person itself when `expand[]=person` was asked.
    pub fn to_json(&self, expand_person: bool) -> Value {
        json!({
            "id": self.id,
            "person": if expand_person { self.person.to_json() } else { json!(self.person.id) },
            "survey_type": "nps",
            "score": self.score,
            "comment": self.comment,
            "permalink": format!("https://delighted.com/r/{}", self.id),
            "created_at": self.created_at.timestamp(),
            "updated_at": self.updated_at.timestamp(),
            "person_properties": {},
            "notes": [],
            "tags": [],
            "additional_answers": [],
        })
    }
}
