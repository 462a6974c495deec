/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  mutation Logout {\n    logout\n  }\n": typeof types.LogoutDocument,
    "\n  fragment UserBits on User {\n    id\n    username\n    displayName\n  }\n": typeof types.UserBitsFragmentDoc,
    "\n  fragment PostFields on Post {\n    id\n    body\n    createdAt\n    likeCount\n    likedByViewer\n    commentCount\n    author {\n      ...UserBits\n    }\n    likers(first: 5) {\n      ...UserBits\n    }\n    commenters(first: 5) {\n      ...UserBits\n    }\n    comments(first: 20) {\n      id\n      body\n      createdAt\n      author {\n        ...UserBits\n      }\n    }\n  }\n": typeof types.PostFieldsFragmentDoc,
    "\n  fragment MessageFields on ChatMessage {\n    id\n    body\n    createdAt\n    author {\n      ...UserBits\n    }\n  }\n": typeof types.MessageFieldsFragmentDoc,
    "\n  fragment NotificationFields on Notification {\n    id\n    kind\n    createdAt\n    read\n    actor {\n      ...UserBits\n    }\n    post {\n      id\n      body\n    }\n    comment {\n      id\n      body\n    }\n  }\n": typeof types.NotificationFieldsFragmentDoc,
    "\n  query Me {\n    me {\n      ...UserBits\n      email\n      emailVerified\n    }\n  }\n": typeof types.MeDocument,
    "\n  subscription LiveNotifications {\n    notifications {\n      ...NotificationFields\n    }\n  }\n": typeof types.LiveNotificationsDocument,
    "\n  mutation MarkNotificationsRead($ids: [ID!]) {\n    markNotificationsRead(ids: $ids)\n  }\n": typeof types.MarkNotificationsReadDocument,
    "\n  query Contacts {\n    contacts {\n      ...UserBits\n      online\n    }\n  }\n": typeof types.ContactsDocument,
    "\n  subscription ContactPresence {\n    contactPresence {\n      online\n      user {\n        ...UserBits\n      }\n    }\n  }\n": typeof types.ContactPresenceDocument,
    "\n  mutation RemoveContact($userId: ID!) {\n    removeContact(userId: $userId)\n  }\n": typeof types.RemoveContactDocument,
    "\n  query Feed($after: String) {\n    posts(first: 10, after: $after) {\n      edges {\n        node {\n          ...PostFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": typeof types.FeedDocument,
    "\n  query ContactIds {\n    contacts {\n      id\n    }\n  }\n": typeof types.ContactIdsDocument,
    "\n  mutation CreatePost($body: String!) {\n    createPost(body: $body) {\n      ...PostFields\n    }\n  }\n": typeof types.CreatePostDocument,
    "\n  mutation LikePost($postId: ID!) {\n    likePost(postId: $postId) {\n      ...PostFields\n    }\n  }\n": typeof types.LikePostDocument,
    "\n  mutation UnlikePost($postId: ID!) {\n    unlikePost(postId: $postId) {\n      ...PostFields\n    }\n  }\n": typeof types.UnlikePostDocument,
    "\n  mutation AddComment($postId: ID!, $body: String!) {\n    addComment(postId: $postId, body: $body) {\n      id\n      post {\n        ...PostFields\n      }\n    }\n  }\n": typeof types.AddCommentDocument,
    "\n  mutation AddContact($userId: ID!) {\n    addContact(userId: $userId) {\n      id\n    }\n  }\n": typeof types.AddContactDocument,
    "\n  query Notifications($after: String) {\n    notifications(first: 20, after: $after) {\n      edges {\n        node {\n          ...NotificationFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": typeof types.NotificationsDocument,
    "\n  query RoomHistory($id: ID!, $before: String) {\n    room(id: $id) {\n      id\n      name\n      messages(last: 50, before: $before) {\n        edges {\n          cursor\n          node {\n            ...MessageFields\n          }\n        }\n        pageInfo {\n          hasPreviousPage\n          startCursor\n        }\n      }\n    }\n  }\n": typeof types.RoomHistoryDocument,
    "\n  subscription RoomEvents($roomId: ID!, $after: String) {\n    roomEvents(roomId: $roomId, after: $after) {\n      __typename\n      ... on PresenceSnapshot {\n        onlineCount\n        onlineUsers {\n          ...UserBits\n        }\n      }\n      ... on MessagePosted {\n        cursor\n        message {\n          ...MessageFields\n        }\n      }\n      ... on MemberJoined {\n        onlineCount\n        user {\n          ...UserBits\n        }\n      }\n      ... on MemberLeft {\n        onlineCount\n        user {\n          ...UserBits\n        }\n      }\n      ... on TypingChanged {\n        typing\n        user {\n          ...UserBits\n        }\n      }\n    }\n  }\n": typeof types.RoomEventsDocument,
    "\n  mutation SendMessage($roomId: ID!, $body: String!) {\n    sendMessage(roomId: $roomId, body: $body) {\n      ...MessageFields\n    }\n  }\n": typeof types.SendMessageDocument,
    "\n  mutation SetTyping($roomId: ID!, $typing: Boolean!) {\n    setTyping(roomId: $roomId, typing: $typing)\n  }\n": typeof types.SetTypingDocument,
    "\n  query Rooms {\n    rooms {\n      id\n      name\n    }\n  }\n": typeof types.RoomsDocument,
    "\n  mutation CreateRoom($name: String!) {\n    createRoom(name: $name) {\n      id\n      name\n    }\n  }\n": typeof types.CreateRoomDocument,
    "\n  query MySessions {\n    mySessions {\n      id\n      createdAt\n      lastSeenAt\n      expiresAt\n      userAgent\n      current\n      liveConnections\n    }\n  }\n": typeof types.MySessionsDocument,
    "\n  mutation RevokeSession($id: ID!) {\n    revokeSession(id: $id)\n  }\n": typeof types.RevokeSessionDocument,
    "\n  mutation LogoutOtherSessions {\n    logoutOtherSessions\n  }\n": typeof types.LogoutOtherSessionsDocument,
    "\n  mutation VerifyEmail($code: String!) {\n    verifyEmail(code: $code) {\n      id\n      emailVerified\n    }\n  }\n": typeof types.VerifyEmailDocument,
    "\n  mutation RequestEmailVerification {\n    requestEmailVerification\n  }\n": typeof types.RequestEmailVerificationDocument,
    "\n  mutation Login($email: String!, $password: String!) {\n    login(email: $email, password: $password) {\n      token\n    }\n  }\n": typeof types.LoginDocument,
    "\n  mutation Register($input: RegisterInput!) {\n    register(input: $input) {\n      token\n    }\n  }\n": typeof types.RegisterDocument,
    "\n  mutation RequestPasswordReset($email: String!) {\n    requestPasswordReset(email: $email)\n  }\n": typeof types.RequestPasswordResetDocument,
    "\n  mutation ResetPassword($email: String!, $code: String!, $newPassword: String!) {\n    resetPassword(email: $email, code: $code, newPassword: $newPassword)\n  }\n": typeof types.ResetPasswordDocument,
};
const documents: Documents = {
    "\n  mutation Logout {\n    logout\n  }\n": types.LogoutDocument,
    "\n  fragment UserBits on User {\n    id\n    username\n    displayName\n  }\n": types.UserBitsFragmentDoc,
    "\n  fragment PostFields on Post {\n    id\n    body\n    createdAt\n    likeCount\n    likedByViewer\n    commentCount\n    author {\n      ...UserBits\n    }\n    likers(first: 5) {\n      ...UserBits\n    }\n    commenters(first: 5) {\n      ...UserBits\n    }\n    comments(first: 20) {\n      id\n      body\n      createdAt\n      author {\n        ...UserBits\n      }\n    }\n  }\n": types.PostFieldsFragmentDoc,
    "\n  fragment MessageFields on ChatMessage {\n    id\n    body\n    createdAt\n    author {\n      ...UserBits\n    }\n  }\n": types.MessageFieldsFragmentDoc,
    "\n  fragment NotificationFields on Notification {\n    id\n    kind\n    createdAt\n    read\n    actor {\n      ...UserBits\n    }\n    post {\n      id\n      body\n    }\n    comment {\n      id\n      body\n    }\n  }\n": types.NotificationFieldsFragmentDoc,
    "\n  query Me {\n    me {\n      ...UserBits\n      email\n      emailVerified\n    }\n  }\n": types.MeDocument,
    "\n  subscription LiveNotifications {\n    notifications {\n      ...NotificationFields\n    }\n  }\n": types.LiveNotificationsDocument,
    "\n  mutation MarkNotificationsRead($ids: [ID!]) {\n    markNotificationsRead(ids: $ids)\n  }\n": types.MarkNotificationsReadDocument,
    "\n  query Contacts {\n    contacts {\n      ...UserBits\n      online\n    }\n  }\n": types.ContactsDocument,
    "\n  subscription ContactPresence {\n    contactPresence {\n      online\n      user {\n        ...UserBits\n      }\n    }\n  }\n": types.ContactPresenceDocument,
    "\n  mutation RemoveContact($userId: ID!) {\n    removeContact(userId: $userId)\n  }\n": types.RemoveContactDocument,
    "\n  query Feed($after: String) {\n    posts(first: 10, after: $after) {\n      edges {\n        node {\n          ...PostFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.FeedDocument,
    "\n  query ContactIds {\n    contacts {\n      id\n    }\n  }\n": types.ContactIdsDocument,
    "\n  mutation CreatePost($body: String!) {\n    createPost(body: $body) {\n      ...PostFields\n    }\n  }\n": types.CreatePostDocument,
    "\n  mutation LikePost($postId: ID!) {\n    likePost(postId: $postId) {\n      ...PostFields\n    }\n  }\n": types.LikePostDocument,
    "\n  mutation UnlikePost($postId: ID!) {\n    unlikePost(postId: $postId) {\n      ...PostFields\n    }\n  }\n": types.UnlikePostDocument,
    "\n  mutation AddComment($postId: ID!, $body: String!) {\n    addComment(postId: $postId, body: $body) {\n      id\n      post {\n        ...PostFields\n      }\n    }\n  }\n": types.AddCommentDocument,
    "\n  mutation AddContact($userId: ID!) {\n    addContact(userId: $userId) {\n      id\n    }\n  }\n": types.AddContactDocument,
    "\n  query Notifications($after: String) {\n    notifications(first: 20, after: $after) {\n      edges {\n        node {\n          ...NotificationFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.NotificationsDocument,
    "\n  query RoomHistory($id: ID!, $before: String) {\n    room(id: $id) {\n      id\n      name\n      messages(last: 50, before: $before) {\n        edges {\n          cursor\n          node {\n            ...MessageFields\n          }\n        }\n        pageInfo {\n          hasPreviousPage\n          startCursor\n        }\n      }\n    }\n  }\n": types.RoomHistoryDocument,
    "\n  subscription RoomEvents($roomId: ID!, $after: String) {\n    roomEvents(roomId: $roomId, after: $after) {\n      __typename\n      ... on PresenceSnapshot {\n        onlineCount\n        onlineUsers {\n          ...UserBits\n        }\n      }\n      ... on MessagePosted {\n        cursor\n        message {\n          ...MessageFields\n        }\n      }\n      ... on MemberJoined {\n        onlineCount\n        user {\n          ...UserBits\n        }\n      }\n      ... on MemberLeft {\n        onlineCount\n        user {\n          ...UserBits\n        }\n      }\n      ... on TypingChanged {\n        typing\n        user {\n          ...UserBits\n        }\n      }\n    }\n  }\n": types.RoomEventsDocument,
    "\n  mutation SendMessage($roomId: ID!, $body: String!) {\n    sendMessage(roomId: $roomId, body: $body) {\n      ...MessageFields\n    }\n  }\n": types.SendMessageDocument,
    "\n  mutation SetTyping($roomId: ID!, $typing: Boolean!) {\n    setTyping(roomId: $roomId, typing: $typing)\n  }\n": types.SetTypingDocument,
    "\n  query Rooms {\n    rooms {\n      id\n      name\n    }\n  }\n": types.RoomsDocument,
    "\n  mutation CreateRoom($name: String!) {\n    createRoom(name: $name) {\n      id\n      name\n    }\n  }\n": types.CreateRoomDocument,
    "\n  query MySessions {\n    mySessions {\n      id\n      createdAt\n      lastSeenAt\n      expiresAt\n      userAgent\n      current\n      liveConnections\n    }\n  }\n": types.MySessionsDocument,
    "\n  mutation RevokeSession($id: ID!) {\n    revokeSession(id: $id)\n  }\n": types.RevokeSessionDocument,
    "\n  mutation LogoutOtherSessions {\n    logoutOtherSessions\n  }\n": types.LogoutOtherSessionsDocument,
    "\n  mutation VerifyEmail($code: String!) {\n    verifyEmail(code: $code) {\n      id\n      emailVerified\n    }\n  }\n": types.VerifyEmailDocument,
    "\n  mutation RequestEmailVerification {\n    requestEmailVerification\n  }\n": types.RequestEmailVerificationDocument,
    "\n  mutation Login($email: String!, $password: String!) {\n    login(email: $email, password: $password) {\n      token\n    }\n  }\n": types.LoginDocument,
    "\n  mutation Register($input: RegisterInput!) {\n    register(input: $input) {\n      token\n    }\n  }\n": types.RegisterDocument,
    "\n  mutation RequestPasswordReset($email: String!) {\n    requestPasswordReset(email: $email)\n  }\n": types.RequestPasswordResetDocument,
    "\n  mutation ResetPassword($email: String!, $code: String!, $newPassword: String!) {\n    resetPassword(email: $email, code: $code, newPassword: $newPassword)\n  }\n": types.ResetPasswordDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Logout {\n    logout\n  }\n"): (typeof documents)["\n  mutation Logout {\n    logout\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment UserBits on User {\n    id\n    username\n    displayName\n  }\n"): (typeof documents)["\n  fragment UserBits on User {\n    id\n    username\n    displayName\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment PostFields on Post {\n    id\n    body\n    createdAt\n    likeCount\n    likedByViewer\n    commentCount\n    author {\n      ...UserBits\n    }\n    likers(first: 5) {\n      ...UserBits\n    }\n    commenters(first: 5) {\n      ...UserBits\n    }\n    comments(first: 20) {\n      id\n      body\n      createdAt\n      author {\n        ...UserBits\n      }\n    }\n  }\n"): (typeof documents)["\n  fragment PostFields on Post {\n    id\n    body\n    createdAt\n    likeCount\n    likedByViewer\n    commentCount\n    author {\n      ...UserBits\n    }\n    likers(first: 5) {\n      ...UserBits\n    }\n    commenters(first: 5) {\n      ...UserBits\n    }\n    comments(first: 20) {\n      id\n      body\n      createdAt\n      author {\n        ...UserBits\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment MessageFields on ChatMessage {\n    id\n    body\n    createdAt\n    author {\n      ...UserBits\n    }\n  }\n"): (typeof documents)["\n  fragment MessageFields on ChatMessage {\n    id\n    body\n    createdAt\n    author {\n      ...UserBits\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment NotificationFields on Notification {\n    id\n    kind\n    createdAt\n    read\n    actor {\n      ...UserBits\n    }\n    post {\n      id\n      body\n    }\n    comment {\n      id\n      body\n    }\n  }\n"): (typeof documents)["\n  fragment NotificationFields on Notification {\n    id\n    kind\n    createdAt\n    read\n    actor {\n      ...UserBits\n    }\n    post {\n      id\n      body\n    }\n    comment {\n      id\n      body\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Me {\n    me {\n      ...UserBits\n      email\n      emailVerified\n    }\n  }\n"): (typeof documents)["\n  query Me {\n    me {\n      ...UserBits\n      email\n      emailVerified\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription LiveNotifications {\n    notifications {\n      ...NotificationFields\n    }\n  }\n"): (typeof documents)["\n  subscription LiveNotifications {\n    notifications {\n      ...NotificationFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation MarkNotificationsRead($ids: [ID!]) {\n    markNotificationsRead(ids: $ids)\n  }\n"): (typeof documents)["\n  mutation MarkNotificationsRead($ids: [ID!]) {\n    markNotificationsRead(ids: $ids)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Contacts {\n    contacts {\n      ...UserBits\n      online\n    }\n  }\n"): (typeof documents)["\n  query Contacts {\n    contacts {\n      ...UserBits\n      online\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription ContactPresence {\n    contactPresence {\n      online\n      user {\n        ...UserBits\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription ContactPresence {\n    contactPresence {\n      online\n      user {\n        ...UserBits\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RemoveContact($userId: ID!) {\n    removeContact(userId: $userId)\n  }\n"): (typeof documents)["\n  mutation RemoveContact($userId: ID!) {\n    removeContact(userId: $userId)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Feed($after: String) {\n    posts(first: 10, after: $after) {\n      edges {\n        node {\n          ...PostFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query Feed($after: String) {\n    posts(first: 10, after: $after) {\n      edges {\n        node {\n          ...PostFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ContactIds {\n    contacts {\n      id\n    }\n  }\n"): (typeof documents)["\n  query ContactIds {\n    contacts {\n      id\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreatePost($body: String!) {\n    createPost(body: $body) {\n      ...PostFields\n    }\n  }\n"): (typeof documents)["\n  mutation CreatePost($body: String!) {\n    createPost(body: $body) {\n      ...PostFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation LikePost($postId: ID!) {\n    likePost(postId: $postId) {\n      ...PostFields\n    }\n  }\n"): (typeof documents)["\n  mutation LikePost($postId: ID!) {\n    likePost(postId: $postId) {\n      ...PostFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UnlikePost($postId: ID!) {\n    unlikePost(postId: $postId) {\n      ...PostFields\n    }\n  }\n"): (typeof documents)["\n  mutation UnlikePost($postId: ID!) {\n    unlikePost(postId: $postId) {\n      ...PostFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation AddComment($postId: ID!, $body: String!) {\n    addComment(postId: $postId, body: $body) {\n      id\n      post {\n        ...PostFields\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation AddComment($postId: ID!, $body: String!) {\n    addComment(postId: $postId, body: $body) {\n      id\n      post {\n        ...PostFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation AddContact($userId: ID!) {\n    addContact(userId: $userId) {\n      id\n    }\n  }\n"): (typeof documents)["\n  mutation AddContact($userId: ID!) {\n    addContact(userId: $userId) {\n      id\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Notifications($after: String) {\n    notifications(first: 20, after: $after) {\n      edges {\n        node {\n          ...NotificationFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query Notifications($after: String) {\n    notifications(first: 20, after: $after) {\n      edges {\n        node {\n          ...NotificationFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query RoomHistory($id: ID!, $before: String) {\n    room(id: $id) {\n      id\n      name\n      messages(last: 50, before: $before) {\n        edges {\n          cursor\n          node {\n            ...MessageFields\n          }\n        }\n        pageInfo {\n          hasPreviousPage\n          startCursor\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query RoomHistory($id: ID!, $before: String) {\n    room(id: $id) {\n      id\n      name\n      messages(last: 50, before: $before) {\n        edges {\n          cursor\n          node {\n            ...MessageFields\n          }\n        }\n        pageInfo {\n          hasPreviousPage\n          startCursor\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription RoomEvents($roomId: ID!, $after: String) {\n    roomEvents(roomId: $roomId, after: $after) {\n      __typename\n      ... on PresenceSnapshot {\n        onlineCount\n        onlineUsers {\n          ...UserBits\n        }\n      }\n      ... on MessagePosted {\n        cursor\n        message {\n          ...MessageFields\n        }\n      }\n      ... on MemberJoined {\n        onlineCount\n        user {\n          ...UserBits\n        }\n      }\n      ... on MemberLeft {\n        onlineCount\n        user {\n          ...UserBits\n        }\n      }\n      ... on TypingChanged {\n        typing\n        user {\n          ...UserBits\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription RoomEvents($roomId: ID!, $after: String) {\n    roomEvents(roomId: $roomId, after: $after) {\n      __typename\n      ... on PresenceSnapshot {\n        onlineCount\n        onlineUsers {\n          ...UserBits\n        }\n      }\n      ... on MessagePosted {\n        cursor\n        message {\n          ...MessageFields\n        }\n      }\n      ... on MemberJoined {\n        onlineCount\n        user {\n          ...UserBits\n        }\n      }\n      ... on MemberLeft {\n        onlineCount\n        user {\n          ...UserBits\n        }\n      }\n      ... on TypingChanged {\n        typing\n        user {\n          ...UserBits\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SendMessage($roomId: ID!, $body: String!) {\n    sendMessage(roomId: $roomId, body: $body) {\n      ...MessageFields\n    }\n  }\n"): (typeof documents)["\n  mutation SendMessage($roomId: ID!, $body: String!) {\n    sendMessage(roomId: $roomId, body: $body) {\n      ...MessageFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SetTyping($roomId: ID!, $typing: Boolean!) {\n    setTyping(roomId: $roomId, typing: $typing)\n  }\n"): (typeof documents)["\n  mutation SetTyping($roomId: ID!, $typing: Boolean!) {\n    setTyping(roomId: $roomId, typing: $typing)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Rooms {\n    rooms {\n      id\n      name\n    }\n  }\n"): (typeof documents)["\n  query Rooms {\n    rooms {\n      id\n      name\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateRoom($name: String!) {\n    createRoom(name: $name) {\n      id\n      name\n    }\n  }\n"): (typeof documents)["\n  mutation CreateRoom($name: String!) {\n    createRoom(name: $name) {\n      id\n      name\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query MySessions {\n    mySessions {\n      id\n      createdAt\n      lastSeenAt\n      expiresAt\n      userAgent\n      current\n      liveConnections\n    }\n  }\n"): (typeof documents)["\n  query MySessions {\n    mySessions {\n      id\n      createdAt\n      lastSeenAt\n      expiresAt\n      userAgent\n      current\n      liveConnections\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RevokeSession($id: ID!) {\n    revokeSession(id: $id)\n  }\n"): (typeof documents)["\n  mutation RevokeSession($id: ID!) {\n    revokeSession(id: $id)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation LogoutOtherSessions {\n    logoutOtherSessions\n  }\n"): (typeof documents)["\n  mutation LogoutOtherSessions {\n    logoutOtherSessions\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation VerifyEmail($code: String!) {\n    verifyEmail(code: $code) {\n      id\n      emailVerified\n    }\n  }\n"): (typeof documents)["\n  mutation VerifyEmail($code: String!) {\n    verifyEmail(code: $code) {\n      id\n      emailVerified\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RequestEmailVerification {\n    requestEmailVerification\n  }\n"): (typeof documents)["\n  mutation RequestEmailVerification {\n    requestEmailVerification\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Login($email: String!, $password: String!) {\n    login(email: $email, password: $password) {\n      token\n    }\n  }\n"): (typeof documents)["\n  mutation Login($email: String!, $password: String!) {\n    login(email: $email, password: $password) {\n      token\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Register($input: RegisterInput!) {\n    register(input: $input) {\n      token\n    }\n  }\n"): (typeof documents)["\n  mutation Register($input: RegisterInput!) {\n    register(input: $input) {\n      token\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RequestPasswordReset($email: String!) {\n    requestPasswordReset(email: $email)\n  }\n"): (typeof documents)["\n  mutation RequestPasswordReset($email: String!) {\n    requestPasswordReset(email: $email)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ResetPassword($email: String!, $code: String!, $newPassword: String!) {\n    resetPassword(email: $email, code: $code, newPassword: $newPassword)\n  }\n"): (typeof documents)["\n  mutation ResetPassword($email: String!, $code: String!, $newPassword: String!) {\n    resetPassword(email: $email, code: $code, newPassword: $newPassword)\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;