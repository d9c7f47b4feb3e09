"""The part of Linear's GraphQL schema that FakeLinear serves, written from the published
schema (github.com/linear/linear, packages/sdk/src/schema.graphql).

Every type, field, argument and input field below exists in Linear's schema with the same
type; what is left out (most of it) the fake does not implement, so a query naming it is refused
the way GraphQL refuses an unknown field. tests/test_tracker_linear.py compares this subset with
the published file when LINEAR_SCHEMA_FILE points at a copy of it.
"""

from __future__ import annotations

SDL = """
scalar DateTime
scalar DateTimeOrDuration
scalar TimelessDate

enum PaginationOrderBy {
  createdAt
  updatedAt
}

interface Node {
  id: ID!
}

type PageInfo {
  endCursor: String
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
}

type User implements Node {
  active: Boolean!
  displayName: String!
  email: String!
  id: ID!
  name: String!
}

type Team implements Node {
  id: ID!
  key: String!
  labels(after: String, before: String, filter: IssueLabelFilter, first: Int,
         includeArchived: Boolean, last: Int, orderBy: PaginationOrderBy): IssueLabelConnection!
  name: String!
  states(after: String, before: String, filter: WorkflowStateFilter, first: Int,
         includeArchived: Boolean, last: Int, orderBy: PaginationOrderBy): WorkflowStateConnection!
}

type WorkflowState implements Node {
  id: ID!
  name: String!
  position: Float!
  team: Team!
  type: String!
}

type IssueLabel implements Node {
  id: ID!
  name: String!
  team: Team
}

type Issue implements Node {
  assignee: User
  createdAt: DateTime!
  description: String
  dueDate: TimelessDate
  id: ID!
  identifier: String!
  labels(after: String, before: String, filter: IssueLabelFilter, first: Int,
         includeArchived: Boolean, last: Int, orderBy: PaginationOrderBy): IssueLabelConnection!
  number: Float!
  priority: Float!
  priorityLabel: String!
  state: WorkflowState!
  team: Team!
  title: String!
  url: String!
}

type Comment implements Node {
  body: String!
  createdAt: DateTime!
  id: ID!
  issue: Issue
  url: String!
}

type TeamConnection { nodes: [Team!]! pageInfo: PageInfo! }
type UserConnection { nodes: [User!]! pageInfo: PageInfo! }
type IssueLabelConnection { nodes: [IssueLabel!]! pageInfo: PageInfo! }
type WorkflowStateConnection { nodes: [WorkflowState!]! pageInfo: PageInfo! }
type IssueConnection { nodes: [Issue!]! pageInfo: PageInfo! }

type IssuePayload { issue: Issue lastSyncId: Float! success: Boolean! }
type CommentPayload { comment: Comment! lastSyncId: Float! success: Boolean! }
type IssueLabelPayload { issueLabel: IssueLabel! lastSyncId: Float! success: Boolean! }

input StringComparator {
  contains: String
  containsIgnoreCase: String
  endsWith: String
  eq: String
  eqIgnoreCase: String
  in: [String!]
  neq: String
  nin: [String!]
  startsWith: String
}

input NullableStringComparator {
  contains: String
  containsIgnoreCase: String
  endsWith: String
  eq: String
  eqIgnoreCase: String
  in: [String!]
  neq: String
  nin: [String!]
  null: Boolean
  startsWith: String
}

input IDComparator { eq: ID in: [ID!] neq: ID nin: [ID!] }
input IssueIDComparator { eq: ID in: [ID!] neq: ID nin: [ID!] }
input BooleanComparator { eq: Boolean neq: Boolean }

input NumberComparator {
  eq: Float
  gt: Float
  gte: Float
  in: [Float!]
  lt: Float
  lte: Float
  neq: Float
  nin: [Float!]
}

input DateComparator {
  eq: DateTimeOrDuration
  gt: DateTimeOrDuration
  gte: DateTimeOrDuration
  lt: DateTimeOrDuration
  lte: DateTimeOrDuration
  neq: DateTimeOrDuration
}

input TeamFilter {
  and: [TeamFilter!]
  id: IDComparator
  key: StringComparator
  name: StringComparator
  or: [TeamFilter!]
}

input NullableTeamFilter {
  and: [NullableTeamFilter!]
  id: IDComparator
  key: StringComparator
  name: StringComparator
  null: Boolean
  or: [NullableTeamFilter!]
}

input UserFilter {
  active: BooleanComparator
  and: [UserFilter!]
  displayName: StringComparator
  email: StringComparator
  id: IDComparator
  name: StringComparator
  or: [UserFilter!]
}

input IssueLabelFilter {
  and: [IssueLabelFilter!]
  id: IDComparator
  name: StringComparator
  or: [IssueLabelFilter!]
  team: NullableTeamFilter
}

input WorkflowStateFilter {
  and: [WorkflowStateFilter!]
  id: IDComparator
  name: StringComparator
  or: [WorkflowStateFilter!]
  position: NumberComparator
  team: TeamFilter
  type: StringComparator
}

input IssueFilter {
  and: [IssueFilter!]
  createdAt: DateComparator
  description: NullableStringComparator
  id: IssueIDComparator
  number: NumberComparator
  or: [IssueFilter!]
  state: WorkflowStateFilter
  team: TeamFilter
  title: StringComparator
}

input IssueCreateInput {
  assigneeId: String
  description: String
  dueDate: TimelessDate
  labelIds: [String!]
  priority: Int
  stateId: String
  teamId: String!
  title: String
}

input IssueUpdateInput {
  assigneeId: String
  description: String
  dueDate: TimelessDate
  labelIds: [String!]
  priority: Int
  stateId: String
  title: String
}

input CommentCreateInput {
  body: String
  issueId: String
}

input IssueLabelCreateInput {
  color: String
  description: String
  name: String!
  teamId: String
}

type Query {
  issue(id: String!): Issue!
  issueLabels(after: String, before: String, filter: IssueLabelFilter, first: Int,
              includeArchived: Boolean, last: Int,
              orderBy: PaginationOrderBy): IssueLabelConnection!
  issues(after: String, before: String, filter: IssueFilter, first: Int,
         includeArchived: Boolean, last: Int, orderBy: PaginationOrderBy): IssueConnection!
  team(id: String!): Team!
  teams(after: String, before: String, filter: TeamFilter, first: Int,
        includeArchived: Boolean, last: Int, orderBy: PaginationOrderBy): TeamConnection!
  users(after: String, before: String, filter: UserFilter, first: Int, includeArchived: Boolean,
        includeDisabled: Boolean, last: Int, orderBy: PaginationOrderBy): UserConnection!
  viewer: User!
  workflowStates(after: String, before: String, filter: WorkflowStateFilter, first: Int,
                 includeArchived: Boolean, last: Int,
                 orderBy: PaginationOrderBy): WorkflowStateConnection!
}

type Mutation {
  commentCreate(input: CommentCreateInput!): CommentPayload!
  issueCreate(input: IssueCreateInput!): IssuePayload!
  issueLabelCreate(input: IssueLabelCreateInput!, replaceTeamLabels: Boolean): IssueLabelPayload!
  issueUpdate(id: String!, input: IssueUpdateInput!): IssuePayload!
}
"""
