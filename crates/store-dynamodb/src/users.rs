//! Users on the users table: reads, and writes that keep each email claimed by exactly one user.
//!
//! Creating a user puts the user item and its claim in one transaction, each only if absent. Updating
//! or deleting reads the user first (strongly consistent) to learn its current email, then writes on
//! the condition that the version is still the one read, so a claim is only ever moved by the writer
//! that owns the user's current version.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{
    Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};
use rill_core::{DomainError, Page, PageRequest, User, UserId, UserReader, UserWriter};

use crate::attributes::{Item, get_n, get_s, key_text, n, s};
use crate::error::{corrupt_item, sdk_failure, unbuildable};
use crate::paging::{Batch, Listing, fill_page};
use crate::schema::{PK, USER_ID};
use crate::transact::Transacted;
use crate::user_item::{
    EMAIL_KEY, KIND, KIND_USER, VERSION, claim_item, claim_pk, user_from_item, user_item, user_pk,
};
use crate::{DynamoError, DynamoStore, position};

/// How often a delete re-reads after a concurrent write changed the user under it.
const MAX_DELETE_RACES: usize = 5;

const USERS_KEY: &[&str] = &[PK];

fn key(pk: String) -> Item {
    Item::from([(PK.to_owned(), s(pk))])
}

fn taken() -> DomainError {
    DomainError::Conflict("a user with this email already exists".to_owned())
}

impl DynamoStore {
    fn users_table(&self) -> &str {
        &self.tables.users
    }

    fn user_from(&self, item: &Item) -> Result<User, DomainError> {
        user_from_item(item)
            .map_err(|problem| corrupt_item(self.users_table(), key_text(item), problem))
    }

    /// The stored user item, read strongly consistently.
    async fn read_user_item(&self, id: UserId) -> Result<Option<Item>, DomainError> {
        let output = self
            .client()
            .await
            .get_item()
            .table_name(self.users_table())
            .set_key(Some(key(user_pk(id))))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_failure("GetItem", e))?;
        Ok(output.item)
    }

    /// The stored version and email key of a user item.
    fn version_and_email_key(&self, item: &Item) -> Result<(u64, String), DomainError> {
        let version = get_n::<u64>(item, VERSION);
        let email_key = get_s(item, EMAIL_KEY);
        match (version, email_key) {
            (Ok(version), Ok(email_key)) => Ok((version, email_key.to_owned())),
            (Err(problem), _) | (_, Err(problem)) => {
                Err(corrupt_item(self.users_table(), key_text(item), problem))
            }
        }
    }

    fn put_user_if_version(&self, user: &User, previous: u64) -> Result<Put, DomainError> {
        Put::builder()
            .table_name(self.users_table())
            .set_item(Some(user_item(user)))
            .condition_expression("#version = :previous")
            .expression_attribute_names("#version", VERSION)
            .expression_attribute_values(":previous", n(previous))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(|e| unbuildable("TransactWriteItems", e))
    }

    /// Deletes the claim on `email_key` if it is `id`'s (or already gone). A claim held by someone
    /// else fails the condition: the data is inconsistent and must not be "repaired" by a release.
    fn release_claim(&self, email_key: &str, id: UserId) -> Result<Delete, DomainError> {
        Delete::builder()
            .table_name(self.users_table())
            .set_key(Some(key(claim_pk(email_key))))
            .condition_expression("attribute_not_exists(#pk) OR #userId = :id")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#userId", USER_ID)
            .expression_attribute_values(":id", s(id.to_string()))
            .build()
            .map_err(|e| unbuildable("TransactWriteItems", e))
    }

    fn put_if_absent(&self, item: Item) -> Result<Put, DomainError> {
        Put::builder()
            .table_name(self.users_table())
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .build()
            .map_err(|e| unbuildable("TransactWriteItems", e))
    }

    /// Why a write conditioned on the version read failed, from the item the condition saw.
    fn lost_version_race(&self, old: Option<Item>) -> DomainError {
        match old {
            None => DomainError::NotFound { entity: "user" },
            Some(_) => DomainError::PreconditionFailed,
        }
    }

    fn claim_inconsistent(&self, id: UserId) -> DomainError {
        corrupt_item(
            self.users_table(),
            &user_pk(id),
            "the user's email claim is held by another user",
        )
    }

    /// Replaces a user whose email key did not change: a single conditional put.
    async fn replace_user(&self, user: &User, previous: u64) -> Result<(), DomainError> {
        self.replace_if_version(self.users_table(), user_item(user), previous, "user")
            .await
    }
}

#[async_trait]
impl UserReader for DynamoStore {
    async fn get_user(&self, id: UserId) -> Result<User, DomainError> {
        match self.read_user_item(id).await? {
            Some(item) => self.user_from(&item),
            None => Err(DomainError::NotFound { entity: "user" }),
        }
    }

    async fn list_users(&self, page: PageRequest) -> Result<Page<User>, DomainError> {
        let start = page
            .after
            .as_deref()
            .map(|bytes| position::decode(bytes, USERS_KEY))
            .transpose()?;
        if let Some(start) = &start
            && !get_s(start, PK).is_ok_and(|pk| pk.starts_with("USER#"))
        {
            return Err(position::invalid_cursor());
        }
        let listing = Listing {
            filtered: true,
            key_names: USERS_KEY,
        };
        let filled = fill_page(listing, page.limit, start, |start, limit| async move {
            let output = self
                .client()
                .await
                .scan()
                .table_name(self.users_table())
                .filter_expression("#kind = :user")
                .expression_attribute_names("#kind", KIND)
                .expression_attribute_values(":user", s(KIND_USER))
                .set_exclusive_start_key(start)
                .limit(limit)
                .send()
                .await
                .map_err(|e| sdk_failure("Scan", e))?;
            Ok(Batch {
                items: output.items.unwrap_or_default(),
                last_evaluated_key: output.last_evaluated_key,
            })
        })
        .await?;
        let items = filled
            .items
            .iter()
            .map(|item| self.user_from(item))
            .collect::<Result<_, _>>()?;
        let next = filled.next.as_ref().map(position::encode).transpose()?;
        Ok(Page { items, next })
    }
}

#[async_trait]
impl UserWriter for DynamoStore {
    async fn create_user(&self, user: &User) -> Result<(), DomainError> {
        let items = vec![
            TransactWriteItem::builder()
                .put(self.put_if_absent(user_item(user))?)
                .build(),
            TransactWriteItem::builder()
                .put(self.put_if_absent(claim_item(user))?)
                .build(),
        ];
        match self.transact("TransactWriteItems", items).await? {
            Transacted::Applied => Ok(()),
            Transacted::Refused(refusal) if refusal.failed(1) => Err(taken()),
            Transacted::Refused(refusal) if refusal.failed(0) => Err(DomainError::Conflict(
                "a user with this id already exists".to_owned(),
            )),
            Transacted::Refused(refusal) => Err(DynamoError::Cancelled {
                operation: "TransactWriteItems",
                reasons: refusal.describe(),
            }
            .into()),
        }
    }

    async fn update_user(&self, user: &User) -> Result<(), DomainError> {
        let Some(stored) = self.read_user_item(user.id).await? else {
            return Err(DomainError::NotFound { entity: "user" });
        };
        let (previous, old_email_key) = self.version_and_email_key(&stored)?;
        if previous.checked_add(1) != Some(user.version) {
            return Err(DomainError::PreconditionFailed);
        }
        if old_email_key == user.email.key() {
            return self.replace_user(user, previous).await;
        }
        let items = vec![
            TransactWriteItem::builder()
                .put(self.put_user_if_version(user, previous)?)
                .build(),
            TransactWriteItem::builder()
                .delete(self.release_claim(&old_email_key, user.id)?)
                .build(),
            TransactWriteItem::builder()
                .put(self.put_if_absent(claim_item(user))?)
                .build(),
        ];
        match self.transact("TransactWriteItems", items).await? {
            Transacted::Applied => Ok(()),
            Transacted::Refused(mut refusal) if refusal.failed(0) => {
                Err(self.lost_version_race(refusal.old_item(0)))
            }
            Transacted::Refused(refusal) if refusal.failed(2) => Err(taken()),
            Transacted::Refused(refusal) if refusal.failed(1) => {
                Err(self.claim_inconsistent(user.id))
            }
            Transacted::Refused(refusal) => Err(DynamoError::Cancelled {
                operation: "TransactWriteItems",
                reasons: refusal.describe(),
            }
            .into()),
        }
    }

    async fn delete_user(
        &self,
        id: UserId,
        expected_version: Option<u64>,
    ) -> Result<(), DomainError> {
        for _ in 0..MAX_DELETE_RACES {
            let Some(stored) = self.read_user_item(id).await? else {
                return Err(DomainError::NotFound { entity: "user" });
            };
            let (stored_version, email_key) = self.version_and_email_key(&stored)?;
            if expected_version.is_some_and(|v| v != stored_version) {
                return Err(DomainError::PreconditionFailed);
            }
            let delete_user = Delete::builder()
                .table_name(self.users_table())
                .set_key(Some(key(user_pk(id))))
                .condition_expression("#version = :version")
                .expression_attribute_names("#version", VERSION)
                .expression_attribute_values(":version", n(stored_version))
                .build()
                .map_err(|e| unbuildable("TransactWriteItems", e))?;
            let items = vec![
                TransactWriteItem::builder().delete(delete_user).build(),
                TransactWriteItem::builder()
                    .delete(self.release_claim(&email_key, id)?)
                    .build(),
            ];
            match self.transact("TransactWriteItems", items).await? {
                Transacted::Applied => return Ok(()),
                // Changed or deleted since the read: look again.
                Transacted::Refused(refusal) if refusal.failed(0) => continue,
                Transacted::Refused(refusal) if refusal.failed(1) => {
                    return Err(self.claim_inconsistent(id));
                }
                Transacted::Refused(refusal) => {
                    return Err(DynamoError::Cancelled {
                        operation: "TransactWriteItems",
                        reasons: refusal.describe(),
                    }
                    .into());
                }
            }
        }
        Err(DomainError::Conflict(
            "the user is being changed by other requests; retry".to_owned(),
        ))
    }
}
